"""Shim: rule measure -> rdbench.run.measure_cell."""

from rdbench.jobs import start

start(snakemake.log[0])  # noqa: F821 (snakemake is injected): log to its file, end with Snakemake

import torch  # noqa: E402

from rdbench.run import measure_cell  # noqa: E402

sm = snakemake  # noqa: F821
# Use the cores the scheduler gave this job, not every core: jobs run side by side.
torch.set_num_threads(sm.threads)
measure_cell(sm.input.coding, sm.input.index, list(sm.params.metrics), sm.output[0])
