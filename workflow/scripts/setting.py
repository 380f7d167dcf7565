"""Shim: rule setting -> rdbench.results.write_setting (a script, not a `run:` block: Snakemake runs
each `run:` job in a new Snakemake process that parses the whole workflow again, seconds per job)."""
from rdbench.results import write_setting

write_setting(snakemake.output[0], snakemake.params.value)  # noqa: F821 (snakemake is injected)
