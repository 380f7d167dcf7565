"""Shim: rule prepare -> rdbench.run.prepare."""
import logging
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

from rdbench.run import prepare  # noqa: E402

sm = snakemake  # noqa: F821
prepare(sm.params.source, Path(sm.output[0]).parent, sm.params.max_images, max_pixels=sm.params.max_pixels)
