"""Shim: rule aggregate -> rdbench.run.aggregate."""
import sys

from rdbench.jobs import start

start(snakemake.log[0])  # noqa: F821 (snakemake is injected): log to its file, end with Snakemake

from rdbench.run import aggregate  # noqa: E402

rows = aggregate(list(snakemake.input), snakemake.output[0])  # noqa: F821
print(f"{rows} rows -> {snakemake.output[0]}", file=sys.stderr)  # noqa: F821
