"""Shim: rule aggregate -> rdbench.run.aggregate."""
import logging
import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

from rdbench.run import aggregate  # noqa: E402

rows = aggregate(list(snakemake.input), snakemake.output[0])  # noqa: F821
print(f"{rows} rows -> {snakemake.output[0]}", file=sys.stderr)  # noqa: F821
