"""Shim: rule prepare -> rdbench.run.prepare."""
from pathlib import Path

from rdbench.jobs import start

start(snakemake.log[0])  # noqa: F821 (snakemake is injected): log to its file, end with Snakemake

from rdbench.run import prepare  # noqa: E402

sm = snakemake  # noqa: F821
prepare(sm.params.source, Path(sm.output[0]).parent, sm.params.max_images, max_pixels=sm.params.max_pixels)
