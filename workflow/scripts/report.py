"""Shim: rule report_html -> rdbench.report.build.make_report."""
import logging
import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

from rdbench.report.build import make_report, report_settings  # noqa: E402

sm = snakemake  # noqa: F821
settings = report_settings(sm.config, results=sm.params.results, datasets=list(sm.params.datasets),
                           metrics=list(sm.params.metrics))
make_report(settings, sm.output[0], table1_json=sm.input.table1)
