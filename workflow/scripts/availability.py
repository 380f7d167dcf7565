"""Shim: rule availability -> availability.json (which codecs and datasets run here, and why the others do not)."""
from rdbench.jobs import start

start(snakemake.log[0])  # noqa: F821 (snakemake is injected): log to its file, end with Snakemake

from rdbench.results import write_json  # noqa: E402

sm = snakemake  # noqa: F821
write_json(sm.output[0], {"available": dict(sm.params.ready), "skipped": dict(sm.params.skipped),
                          "datasets_skipped": dict(sm.params.datasets_skipped)})
