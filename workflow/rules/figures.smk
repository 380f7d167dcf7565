# Paper figures and the runtime table: rd.csv of every dataset -> results/plots/grid.{pdf,svg,png}
# (datasets x metrics, styled by the config's `plots:` section, rdbench/report/figures.py) and
# results/tables/runtime.{csv,md,tex} (encode/decode seconds per image, rdbench/report/runtime.py).
# Needs common.smk (RESULTS, LOGS, DATASETS, METRICS, RD_CSVS, stamp) and report.smk (REPORT_STAMP).
from rdbench.report.figures import FigureStyle

FigureStyle.from_config(config.get("plots"))  # a bad `plots:` section stops the workflow before any job
FIGURE_STAMP = stamp("plots", config.get("plots") or {})
GRID_FILES = [f"{RESULTS}/plots/grid.{ext}" for ext in ("pdf", "svg", "png")]
RUNTIME_FILES = [f"{RESULTS}/tables/runtime.{ext}" for ext in ("csv", "md", "tex")]


rule grid_figure:
    input:
        rd=RD_CSVS,
        settings=[REPORT_STAMP, FIGURE_STAMP],
    output:
        GRID_FILES,
    params:
        results=RESULTS,
        datasets=DATASETS,
        metrics=METRICS,
    log:
        f"{LOGS}/report/grid.log",
    script:
        "../scripts/figures.py"


rule runtime_table:
    input:
        rd=RD_CSVS,
    output:
        RUNTIME_FILES,
    params:
        datasets=DATASETS,
    log:
        f"{LOGS}/report/runtime.log",
    script:
        "../scripts/runtime.py"
