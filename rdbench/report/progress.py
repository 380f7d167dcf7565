"""A learned codec's training campaign: one row per committed weight update, and its progress plot.

``record`` reads the codec's measured cells (an rd.csv) and its weight sidecars and appends one row
to ``progress.csv`` (replacing the row of the same weights, so a rerun does not duplicate it):

    date, weights          UTC date; the first 12 hex digits of each point's weights sha256
    crops_p<K>             crops seen by point K's weights, cumulative (its sidecar's ``budget``)
    crops_total, cpu_hours, gpu_minutes   summed over points (a fine-tuned point counts its base's
                           crops again: this is what each model has seen, not what was spent)
    cpu_hours_spent        CPU-hours of the campaign without double counting (see below)
    bd_rate_psnr           BD-rate (%) of the codec against ``anchor`` on the dataset, PSNR-RGB, under
                           the default BD settings (Table I's PSNR column)
    bd_psnr_db             BD-PSNR (dB) against ``anchor``, the same settings (Table I (BD-quality)'s
                           PSNR column): averaged over the log-rate overlap, so it is defined while the
                           PSNR ranges do not overlap yet and the BD-rate is not
    psnr_at_<R>bpp         PSNR (dB) of the dataset-mean curve at R bpp, linear in log-rate between
                           the two points around it; empty when R is outside the curve (never extrapolated)

``cpu_hours_spent`` counts each point's own runs once: a point's cumulative CPU-hours minus those of
the weights it was initialised from, summed, plus the base's (for weights continued from an earlier
row's weights: that row's ``cpu_hours_spent``). ``bd_note`` says why a BD-rate is undefined (e.g. the curves do not overlap yet);
``psnr_at_0.1bpp`` is recorded too. ``plot`` draws BD-rate and PSNR at each rate against crops seen (log axis), one marker per row.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rdbench.atomic import atomic_path, write_text

RATE = 0.25  # bpp: the low-rate operating point the plot follows
RATES = (0.1, RATE)  # every row records PSNR at these rates (0.1: where a young model's curve starts)


def psnr_at(bpp: np.ndarray, psnr: np.ndarray, rate: float = RATE) -> float:
    """PSNR of a mean curve at `rate`, linear in log10-rate; NaN outside the curve."""
    order = np.argsort(bpp)
    x, y = np.log10(np.asarray(bpp, float)[order]), np.asarray(psnr, float)[order]
    if not x.size or not x[0] <= math.log10(rate) <= x[-1]:
        return float("nan")
    return float(np.interp(math.log10(rate), x, y))


def campaign_row(rd_csv: str | Path, codec: str, anchor: str, sidecars: dict[int, dict],
                 earlier: list[dict] = ()) -> dict:
    """The progress row of the current weights (see the module docstring); ``earlier``: the rows of
    progress.csv so far (a base that was an earlier row's weights counts as that row's spent hours)."""
    from rdbench.report.compare import BDSettings, compare
    from rdbench.report.plots import mean_curve
    from rdbench.results import read_rd_csv

    from rdbench.bd import BDError

    df = read_rd_csv(rd_csv)
    dataset = str(df["dataset"].iloc[0])
    results, why = {}, []
    for kind in ("rate", "quality"):
        try:
            results[kind] = compare(df, anchor, codec, "psnr-rgb", BDSettings(), kind=kind)
        except BDError as exc:  # e.g. no overlap: recorded with its reason, never a number
            results[kind] = None
            why.append(f"BD-{kind}: {exc}" if kind == "quality" else str(exc))
    rows = df[(df["dataset"] == dataset) & (df["codec"].astype(str) == codec)]
    bpp, psnr = mean_curve(rows, codec, "psnr-rgb")
    row: dict = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
                 "weights": " ".join(sidecars[p]["sha256"][:12] for p in sorted(sidecars)),
                 "dataset": dataset, "images": rows["image"].nunique(), "anchor": anchor}
    budgets = {p: meta.get("budget") or {} for p, meta in sidecars.items()}
    for p in sorted(budgets):
        row[f"crops_p{p}"] = int(budgets[p].get("crops_seen", 0))
    row["crops_total"] = sum(int(b.get("crops_seen", 0)) for b in budgets.values())
    row["cpu_hours"] = round(sum(float(b.get("cpu_hours", 0)) for b in budgets.values()), 3)
    row["gpu_minutes"] = round(sum(float(b.get("gpu_minutes", 0)) for b in budgets.values()), 2)
    row["cpu_hours_spent"] = round(_spent(sidecars, earlier), 3)
    row["bd_rate_psnr"] = round(results["rate"].value, 2) if results["rate"] else ""
    row["bd_psnr_db"] = round(results["quality"].value, 3) if results["quality"] else ""
    row["bd_note"] = " ".join(why)
    for rate in RATES:
        row[f"psnr_at_{rate}bpp"] = round(psnr_at(bpp, psnr, rate), 3)
    row["bpp_range"] = f"{bpp.min():.3f}-{bpp.max():.3f}"
    return row


def _spent(sidecars: dict[int, dict], earlier: list[dict] = ()) -> float:
    """CPU-hours without counting a base twice: each point's own share, plus every base once; bases
    that were the weights of an earlier progress row (a campaign continued from committed weights)
    count as that row's ``cpu_hours_spent``, once per row."""
    own, bases = 0.0, {}
    for meta in sidecars.values():
        total = float((meta.get("budget") or {}).get("cpu_hours", 0))
        init = (meta.get("training") or {}).get("init_from") or {}
        inherited = float((init.get("budget") or {}).get("cpu_hours", 0))
        own += total - inherited
        if init:
            bases[init.get("sha256")] = inherited
    shas = {meta["sha256"] for meta in sidecars.values()}
    outside = {sha: hours for sha, hours in bases.items() if sha not in shas}
    rows = {r["weights"]: float(r["cpu_hours_spent"]) for r in earlier
            if any(str(sha)[:12] in r["weights"].split() for sha in outside)}
    counted = {sha for sha in outside if any(str(sha)[:12] in w.split() for w in rows)}
    return own + sum(rows.values()) + sum(hours for sha, hours in outside.items() if sha not in counted)


def read_rows(progress_csv: str | Path) -> list[dict]:
    path = Path(progress_csv)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def record(progress_csv: str | Path, row: dict) -> list[dict]:
    """Append `row` (replacing a row of the same weights); returns all rows."""
    path = Path(progress_csv)
    rows = read_rows(path)
    rows = [r for r in rows if r["weights"] != row["weights"]] + [{k: str(v) for k, v in row.items()}]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def plot(rows: list[dict], out_png: str | Path, codec: str) -> Path:
    """BD-rate and PSNR at RATE bpp against crops seen, one marker per committed update."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    crops = np.array([float(r["crops_total"]) for r in rows])
    panels = [("bd_rate_psnr", f"BD-rate vs {rows[-1]['anchor']} (PSNR) [%]"),
              ("bd_psnr_db", f"BD-PSNR vs {rows[-1]['anchor']} [dB]")]
    panels += [(f"psnr_at_{rate}bpp", f"PSNR at {rate} bpp [dB]") for rate in RATES]
    fig = Figure(figsize=(14, 3.4), dpi=120, layout="constrained")
    for k, (key, label) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        y = np.array([float(r[key]) if r.get(key) not in ("", None, "nan") else np.nan for r in rows])
        ax.plot(crops, y, marker="o", color="#8c564b")
        for x, v, r in zip(crops, y, rows):
            if np.isfinite(v):
                ax.annotate(f"{r['cpu_hours_spent']} CPU-h", (x, v), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlim(crops.min() / 1.3, crops.max() * 1.3)  # one crops axis for every panel
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("crops seen (all points)")
        ax.set_ylabel(label)
        if not np.isfinite(y).any():
            ax.text(0.5, 0.5, "undefined so far\n(see progress.md)", transform=ax.transAxes, ha="center")
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{codec} training campaign on {rows[-1]['dataset']} ({rows[-1]['images']} images); crops summed "
                 "over the rate points (the paper: 4 x 67.5 M)", fontsize=10)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        FigureCanvasAgg(fig).print_png(tmp)
    return out


def write_table(path: str | Path, rows: list[dict]) -> None:
    """The rows as a Markdown table."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in columns) + " |" for r in rows]
    write_text(path, "\n".join(lines) + "\n")
