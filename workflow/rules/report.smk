# rd.csv -> Table I, RD plots, report.html. Each rule calls one function of rdbench/report/build.py
# through a shim in workflow/scripts/; settings come from config keys anchor, metrics, bd, published, table1.
# Needs from common.smk: RESULTS, LOGS, DATASETS, METRICS, RD_CSVS, AVAILABILITY; uses complexity.smk's
# COMPLEXITY_TARGETS (Tables II/III) when that file is included too; and stamp() (settings.smk, which
# common.smk includes).

from rdbench.references import is_named

PUBLISHED = {ds: list(paths) for ds, paths in (config.get("published") or {}).items()}
from rdbench.report.published import entry_spec

REPORT_STAMP = stamp("report", {k: config.get(k) for k in ("anchor", "bd", "published", "table1")})


def published_files(entries):
    """The plain paths among published entries (named ones, compressai:..., are fetched by the job)."""
    return sorted({p for p, _ in map(entry_spec, entries) if not is_named(p)})


TABLE1_FILES = [  # BD-rate (table1.*) and BD-quality (table1_quality.*), details of both, tables.md
    f"{RESULTS}/tables/{stem}.{ext}" for stem in ("table1", "table1_quality")
    for ext in ("csv", "md", "tex", "html", "json")
] + [
    f"{RESULTS}/tables/{stem}_long.csv" for stem in ("table1", "table1_quality")
] + [f"{RESULTS}/tables/table1_details.csv", f"{RESULTS}/tables/tables.md"] + (
    [f"{RESULTS}/tables/paper_vs_rdbench.{ext}" for ext in ("csv", "md")]  # the paper's Table I beside ours
    if (config.get("table1") or {}).get("paper") else [])
PLOT_FILES = expand(f"{RESULTS}/plots/{{dataset}}/{{view}}{{metric}}.{{ext}}", dataset=DATASETS, metric=METRICS,
                    ext=["png", "svg"], view=["", "low/"])  # full range and the low-rate view
REPORT_HTML = f"{RESULTS}/report.html"
REPORT_TARGETS = TABLE1_FILES + PLOT_FILES + [REPORT_HTML]


def complexity_tables(wildcards):
    """Tables II/III: the CSVs among complexity.smk's COMPLEXITY_TARGETS, when the workflow includes it."""
    return [p for p in globals().get("COMPLEXITY_TARGETS", []) if p.endswith(".csv")]


rule bd_tables:
    input:
        rd=RD_CSVS,
        settings=REPORT_STAMP,  # anchor, BD settings, published curves, table1
        published=published_files(p for paths in PUBLISHED.values() for p in paths),
        availability=AVAILABILITY,
        complexity=complexity_tables,
    output:
        TABLE1_FILES,
    params:
        results=RESULTS,
        datasets=TABLE_DATASETS,  # the skipped ones too: their group shows the published rows
        metrics=METRICS,
    log:
        f"{LOGS}/report/tables.log",
    script:
        "../scripts/tables.py"


rule rd_plots:
    input:
        rd=f"{RESULTS}/{{dataset}}/rd.csv",
        settings=REPORT_STAMP,
        published=lambda wc: published_files(PUBLISHED.get(wc.dataset, [])),
    output:
        expand(f"{RESULTS}/plots/{{{{dataset}}}}/{{view}}{{metric}}.{{ext}}", metric=METRICS, ext=["png", "svg"],
               view=["", "low/"]),
    params:
        results=RESULTS,
        datasets=DATASETS,
        metrics=METRICS,
    log:
        f"{LOGS}/report/plots/{{dataset}}.log",
    script:
        "../scripts/plots.py"


rule report_html:
    input:
        rd=RD_CSVS,
        settings=REPORT_STAMP,
        # ancient: git checks results/tables/ out after results/report.html; the report still follows
        # a bd_tables job of the same run
        table1=ancient(f"{RESULTS}/tables/table1.json"),
        table1_quality=ancient(f"{RESULTS}/tables/table1_quality.json"),  # found beside table1.json
        plots=PLOT_FILES,
        complexity=complexity_tables,
        ablations=lambda wc: globals().get("ABLATION_TARGETS", []),  # ablations.smk, when included
    output:
        REPORT_HTML,
    params:
        results=RESULTS,
        datasets=DATASETS,
        metrics=METRICS,
    log:
        f"{LOGS}/report/html.log",
    script:
        "../scripts/report.py"
