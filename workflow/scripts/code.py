"""Shim: rule code -> rdbench.run.code_cell."""
import logging
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

from rdbench.run import code_cell, keep_measured  # noqa: E402

sm = snakemake  # noqa: F821
code_cell(sm.wildcards.codec, dict(sm.params.options), sm.input.index, sm.wildcards.point,
          Path(sm.output[0]).parent, threads=sm.threads)
keep_measured(sm.params.cell, Path(sm.output[0]).parent)
