"""Shim: rule code -> rdbench.run.code_cell."""
from pathlib import Path

from rdbench.jobs import start

start(snakemake.log[0])  # noqa: F821 (snakemake is injected): log to its file, end with Snakemake

from rdbench.run import code_cell, keep_measured  # noqa: E402

sm = snakemake  # noqa: F821
code_cell(sm.wildcards.codec, dict(sm.params.options), sm.input.index, sm.wildcards.point,
          Path(sm.output[0]).parent, threads=sm.threads)
keep_measured(sm.params.cell, Path(sm.output[0]).parent)
