"""Shim: rule grid_figure -> rdbench.report.build.make_grid_figure."""
import logging
import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

from rdbench.report.build import make_grid_figure, report_settings  # noqa: E402

sm = snakemake  # noqa: F821
settings = report_settings(sm.config, results=sm.params.results, datasets=list(sm.params.datasets),
                           metrics=list(sm.params.metrics))
make_grid_figure(settings, sm.config.get("plots"))
