"""Shim: rule measure -> rdbench.run.measure_cell."""
import os

# The cores the scheduler gave this job, not every core: jobs run side by side. Read by torch when a
# metric that needs it is first called; PSNR and MS-SSIM never import torch (about 2 s per job).
os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)  # noqa: F821 (snakemake is injected)

from rdbench.jobs import start  # noqa: E402

start(snakemake.log[0])  # noqa: F821: log to its file, end with Snakemake

from rdbench.run import measure_cell  # noqa: E402

sm = snakemake  # noqa: F821
measure_cell(sm.input.coding, sm.input.index, list(sm.params.metrics), sm.output[0])
