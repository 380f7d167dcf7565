"""Shim: rule runtime_table -> rdbench.report.runtime.write_runtime (a script: a `run:` job would parse
the whole workflow again in a new Snakemake process)."""
from pathlib import Path

from rdbench.jobs import start

start(snakemake.log[0])  # noqa: F821 (snakemake is injected): log to its file, end with Snakemake

from rdbench.report.runtime import write_runtime  # noqa: E402

sm = snakemake  # noqa: F821
write_runtime(dict(zip(sm.params.datasets, sm.input.rd)), Path(sm.output[0]).parent)
