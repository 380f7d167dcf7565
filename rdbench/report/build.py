"""One function per report step, shared by the workflow rules (workflow/rules/report.smk) and the CLI.

    {results}/<dataset>/rd.csv --make_tables--> {results}/tables/table1{,_quality}.{csv,md,tex,html,json},
                                                table1_details.csv, tables.md
                               --make_plots---> {results}/plots/<dataset>/<metric>.{png,svg}
    tables + plots + rd.csv + cells --make_report--> {results}/report.html

Settings come from the workflow config (keys ``anchor``, ``metrics``, ``bd``, ``published``), read by
:func:`report_settings` so the CLI and the workflow interpret them identically.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from rdbench.report.compare import BDSettings

log = logging.getLogger("rdbench.report")


@dataclass(frozen=True)
class ReportSettings:
    """What the report steps need from the workflow config."""

    results: Path
    datasets: list[str]
    metrics: list[str]
    anchor: str
    bd: BDSettings = BDSettings()
    published: dict[str, list] = field(default_factory=dict)  # dataset -> curve names/paths or {row, curve}
    table1: dict[str, Any] = field(default_factory=dict)  # the config's table1: anchor, not_available, paper

    def rd_csvs(self) -> dict[str, Path]:
        return {ds: self.results / ds / "rd.csv" for ds in self.datasets}

    def missing(self) -> dict[str, str]:
        """Dataset -> why it has no measured data here: skipped by the workflow (availability.json), or no rd.csv."""
        from rdbench.results import read_json

        path = self.results / "availability.json"
        skipped = (read_json(path) if path.is_file() else {}).get("datasets_skipped", {})
        return {ds: skipped.get(ds) or f"no {csv} (run the workflow on it)" for ds, csv in self.rd_csvs().items()
                if ds in skipped or not csv.is_file()}

    def measured_rd_csvs(self) -> dict[str, Path]:
        missing = self.missing()
        return {ds: p for ds, p in self.rd_csvs().items() if ds not in missing}


def dataset_name(entry: str) -> str:
    """A config ``datasets`` entry -> its name (a folder path gives its base name, as the workflow does)."""
    return os.path.basename(os.path.normpath(entry)) if os.sep in entry else entry


def report_settings(config: Mapping[str, Any], **overrides: Any) -> ReportSettings:
    """Read the workflow config; non-None ``overrides`` (results, datasets, metrics, anchor, published,
    and any BDSettings field) win over it."""
    bd_cfg = dict(config.get("bd") or {})
    bd_cfg.update({k: v for k, v in overrides.items() if k in BDSettings.__dataclass_fields__ and v is not None})

    def get(key: str, default: Any = None) -> Any:
        return overrides[key] if overrides.get(key) is not None else config.get(key, default)

    if not get("anchor"):
        raise ValueError("no BD anchor: set `anchor:` in the config (the paper: bpg; without bpgenc: hevc444) "
                         "or pass --anchor")
    datasets = [dataset_name(d) for d in (get("datasets") or [])]
    if not datasets:
        raise ValueError("no datasets: set `datasets:` in the config or pass --datasets")
    metrics = list(get("metrics") or [])
    if not metrics:
        raise ValueError("no metrics: set `metrics:` in the config or pass --metrics")
    configured = set(datasets) | {dataset_name(d) for d in (config.get("datasets") or [])}  # skipped ones too
    published = {str(k): list(v) for k, v in (get("published") or {}).items()}
    check_published(published)
    table1 = dict(config.get("table1") or {})
    for what, keys in (("published curves", published), ("table1 anchor", table1.get("anchor") or {})):
        unknown = sorted(set(keys) - configured)
        if unknown:
            raise ValueError(f"{what} given for dataset(s) {unknown} that are not among {sorted(configured)}")
    return ReportSettings(Path(get("results", "results")), datasets, metrics, str(get("anchor")),
                          BDSettings.from_config(bd_cfg), published, table1)


def check_published(published: Mapping[str, Sequence]) -> None:
    """Every entry well formed and of its dataset (CompressAI's CLIC test-split curves are refused for the valid
    split): a ValueError naming the entry, before any work."""
    from rdbench.references import check_dataset
    from rdbench.report.published import entry_spec

    problems = []
    for ds, entries in published.items():
        for entry in entries:
            try:
                check_dataset(entry_spec(entry)[0], ds)
            except Exception as exc:  # ReferenceCurveError, BDError (a malformed entry)
                problems.append(str(exc))
    if problems:
        raise ValueError("\n- ".join(problems))


def load_config(path: str | Path) -> dict[str, Any]:
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def published_curves(settings: ReportSettings) -> dict[str, list]:
    from rdbench.report.published import load_published

    return {ds: load_published(paths) for ds, paths in settings.published.items() if paths}


def make_tables(settings: ReportSettings, out_dir: str | Path | None = None) -> list[Path]:
    """Table I, BD-rate and BD-quality, in every format (+ tables.md with Tables II/III when present)
    -> ``{results}/tables``."""
    from rdbench.report.paper import load_paper
    from rdbench.report.tables import build_table1, write_tables
    from rdbench.results import read_json

    avail_path = settings.results / "availability.json"
    availability = read_json(avail_path) if avail_path.is_file() else None
    log.info("Table I: anchor %s, %s", settings.anchor, settings.bd.describe())
    curves = published_curves(settings)
    paper = load_paper(settings.table1["paper"]) if settings.table1.get("paper") else None
    not_available = {**(paper.no_public_curve if paper else {}), **(settings.table1.get("not_available") or {})}
    tables = [build_table1(settings.measured_rd_csvs(), settings.anchor, settings.metrics, settings.bd, kind=kind,
                           published=curves, availability=availability,
                           anchors=settings.table1.get("anchor") or {}, missing=settings.missing(),
                           not_available=not_available, datasets=settings.datasets)
              for kind in ("rate", "quality")]
    for table in tables:
        for note in table.notes:
            log.info("%s note: %s", table.title, note)
    out_dir = Path(out_dir or settings.results / "tables")
    paths = write_tables(tables, out_dir, settings.results, paper=paper)
    return paths


def make_plots(settings: ReportSettings, dataset: str, out_dir: str | Path | None = None) -> list[Path]:
    """RD figures of one dataset -> ``{results}/plots/<dataset>/<metric>.{png,svg}``."""
    from rdbench.report.plots import write_plots

    return write_plots(settings.rd_csvs()[dataset], settings.metrics, out_dir or settings.results / "plots" / dataset,
                       anchor=settings.anchor, published=published_curves(settings).get(dataset, ()),
                       ms_ssim_db=settings.bd.ms_ssim_db, dataset=dataset)


def make_report(settings: ReportSettings, out_html: str | Path | None = None,
                table1_json: str | Path | None = None, plots_dir: str | Path | None = None) -> Path:
    """The single-file HTML report -> ``{results}/report.html`` (from table1.json, the
    table1_quality.json beside it and the plot SVGs)."""
    from rdbench.report.html import write_report

    table1_json = Path(table1_json or settings.results / "tables" / "table1.json")
    quality = table1_json.with_name("table1_quality.json")
    return write_report(out_html or settings.results / "report.html", table1=table1_json,
                        table1_quality=quality if quality.is_file() else None,
                        rd_csvs=settings.measured_rd_csvs(), results_dir=settings.results,
                        plots_dir=plots_dir, metrics=settings.metrics)


def make_all(settings: ReportSettings) -> list[Path]:
    """Tables, every dataset's plots, then the report (what `rdbench report` runs)."""
    paths = make_tables(settings)
    for ds in settings.measured_rd_csvs():
        paths += make_plots(settings, ds)
    paths.append(make_report(settings))
    return paths


def settings_from_args(args, *, need: Sequence[str] = ()) -> ReportSettings:
    """CLI helper: ``--config`` (default ``config/config.yaml`` when it exists) overridden by flags."""
    import sys

    config: dict[str, Any] = {}
    path = args.config or ("config/config.yaml" if Path("config/config.yaml").is_file() else None)
    if path:
        config = load_config(path)
        print(f"rdbench: settings from {path} (flags override)", file=sys.stderr)
    published = None
    if getattr(args, "published", None):
        published = {}
        for item in args.published:
            ds, sep, file = item.partition("=")
            if not sep:
                raise ValueError(f"--published {item!r}: expected DATASET=FILE.json")
            published.setdefault(ds, []).append(file)
    return report_settings(config, results=args.results, datasets=args.datasets, metrics=args.metrics,
                           anchor=args.anchor, published=published, method=args.method, averaging=args.averaging,
                           bootstrap=args.bootstrap, seed=args.seed,
                           ms_ssim_db=None if args.ms_ssim is None else args.ms_ssim == "db",
                           min_overlap=args.min_overlap, sensitivity=args.sensitivity,
                           rate_range=tuple(args.rate_range) if args.rate_range else None,
                           latex_interval=args.latex_interval)


def add_settings_arguments(parser) -> None:
    """The flags shared by `rdbench tables` and `rdbench report`."""
    from rdbench.bd import METHODS
    from rdbench.report.compare import AVERAGING

    parser.add_argument("--config", help="workflow config to read anchor, datasets, metrics, bd, published from "
                                         "(default: config/config.yaml when present)")
    parser.add_argument("--results", help="results folder holding <dataset>/rd.csv (default: the config's)")
    parser.add_argument("--datasets", nargs="+", help="dataset names (default: the config's)")
    parser.add_argument("--metrics", nargs="+", help="metric columns, in table order (default: the config's)")
    parser.add_argument("--anchor", help="anchor codec (the paper: bpg; default: the config's)")
    parser.add_argument("--method", choices=METHODS, help="BD interpolation (default: config, else pchip)")
    parser.add_argument("--averaging", choices=AVERAGING, help="mean-curve (the paper) or per-image")
    parser.add_argument("--bootstrap", type=int, help="bootstrap resamples of images (0: no interval)")
    parser.add_argument("--seed", type=int, help="bootstrap seed")
    parser.add_argument("--ms-ssim", choices=("db", "raw"),
                        help="MS-SSIM on the BD axis: db, -10 log10(1 - x) (default), or raw")
    parser.add_argument("--min-overlap", type=float, help="no BD below this overlap of the curves (fraction)")
    parser.add_argument("--sensitivity", type=float,
                        help="mark a BD-rate that another method or averaging moves by more than this (pp)")
    parser.add_argument("--rate-range", type=float, nargs=2, metavar=("LO", "HI"),
                        help="clip every curve to LO..HI bpp by interpolation")
    parser.add_argument("--latex-interval", choices=("brackets", "pm", "none"), help="intervals in LaTeX")
    parser.add_argument("--published", action="append", metavar="DATASET=FILE.json",
                        help="a CompressAI results JSON shown as a published reference (repeatable; "
                             "replaces the config's list)")


def make_grid_figure(settings: ReportSettings, plots: Mapping[str, Any] | None = None) -> list[Path]:
    """The paper figure, datasets x metrics (config ``plots:``) -> ``{results}/plots/grid.{pdf,svg,png}``."""
    from rdbench.report.figures import FigureStyle, grid_figure
    from rdbench.results import read_rd_csv

    style = FigureStyle.from_config(plots, ms_ssim_db=settings.bd.ms_ssim_db)
    frames = {ds: read_rd_csv(path) for ds, path in settings.rd_csvs().items()}
    return grid_figure(frames, settings.metrics, settings.anchor, settings.results / "plots" / "grid", style,
                       published_curves(settings))
