"""Figures for a paper: one grid of RD curves, datasets x metrics, as PDF, SVG and 300-dpi PNG.

The look comes from the config's ``plots:`` section (every key optional)::

    plots:
      names: {treenet: "TreeNet (ours)", hevc444: "HEVC 4:4:4"}   # legend names (codecs and published labels)
      colors: {treenet: "#d62728"}                                 # any matplotlib colour
      order: [treenet, vvc420, hevc444]      # drawing and legend order; the others follow by name
      bpp_range: [0, 1.0]                    # x range of every panel (default: the measured range)
      ms_ssim_db: true                       # MS-SSIM in dB (default: the BD setting bd.ms_ssim_db)
      spread: false                          # a band over the images' interquartile range per point

Curves are the per-point means of :mod:`rdbench.report.plots` (same colours and markers by default);
the anchor is drawn last, thick and black, with a white halo, so it stays visible under any other
curve; published curves are dashed and say "(published)" in the legend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from rdbench.atomic import atomic_path
from rdbench.bd import metric_transform, quality_label
from rdbench.report.plots import mean_curve, style_for, y_values

KEYS = {"names", "colors", "order", "bpp_range", "ms_ssim_db", "spread"}
PANEL_INCHES = (3.3, 2.6)
PNG_DPI = 300


@dataclass(frozen=True)
class FigureStyle:
    names: dict[str, str] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    bpp_range: tuple[float, float] | None = None
    ms_ssim_db: bool = True
    spread: bool = False

    @classmethod
    def from_config(cls, plots: Mapping[str, Any] | None, *, ms_ssim_db: bool = True) -> "FigureStyle":
        """The ``plots:`` section; every error names the key."""
        from matplotlib.colors import is_color_like

        plots = dict(plots or {})
        unknown = sorted(set(plots) - KEYS)
        if unknown:
            raise ValueError(f"plots: unknown key(s) {unknown}; known: {sorted(KEYS)}")
        for key in ("names", "colors"):
            if not isinstance(plots.get(key, {}), dict):
                raise ValueError(f"plots.{key} must map codec names to strings, got {plots[key]!r}")
        bad = {k: v for k, v in plots.get("colors", {}).items() if not is_color_like(v)}
        if bad:
            raise ValueError(f"plots.colors: not matplotlib colours: {bad}")
        rng = plots.get("bpp_range")
        if rng is not None:
            if not (isinstance(rng, (list, tuple)) and len(rng) == 2 and all(isinstance(v, (int, float)) for v in rng)
                    and 0 <= rng[0] < rng[1]):
                raise ValueError(f"plots.bpp_range must be [lo, hi] in bpp with 0 <= lo < hi, got {rng!r}")
            rng = (float(rng[0]), float(rng[1]))
        for key in ("ms_ssim_db", "spread"):
            if key in plots and not isinstance(plots[key], bool):
                raise ValueError(f"plots.{key} must be true or false, got {plots[key]!r}")
        order = plots.get("order", [])
        if not isinstance(order, list):
            raise ValueError(f"plots.order must be a list of codec names, got {order!r}")
        return cls({str(k): str(v) for k, v in plots.get("names", {}).items()},
                   {str(k): str(v) for k, v in plots.get("colors", {}).items()}, tuple(map(str, order)), rng,
                   bool(plots.get("ms_ssim_db", ms_ssim_db)), bool(plots.get("spread", False)))

    def ordered(self, codecs: Sequence[str]) -> list[str]:
        rank = {c: k for k, c in enumerate(self.order)}
        return sorted(codecs, key=lambda c: (rank.get(c, len(rank)), c))

    def line(self, name: str, **kind: bool) -> dict:
        style = style_for(name, **kind)
        if name in self.colors and not kind.get("anchor"):
            style["color"] = self.colors[name]
        return style


def _panel(ax, df, metric: str, anchor: str | None, published: Sequence, style: FigureStyle) -> None:
    codecs = style.ordered([c for c in df["codec"].astype(str).unique() if c != anchor])
    lo, hi = style.bpp_range or (0.0, np.inf)
    for codec in codecs + ([anchor] if anchor in set(df["codec"].astype(str)) else []):
        x, y = mean_curve(df, codec, metric)
        y = y_values(metric, y, style.ms_ssim_db)
        keep = np.isfinite(x) & np.isfinite(y) & (x >= lo) & (x <= hi)
        line = style.line(codec, anchor=codec == anchor)
        if codec == anchor:
            ax.plot(x[keep], y[keep], color="white", linewidth=line["linewidth"] + 2.5, zorder=line["zorder"] - 0.5)
        label = style.names.get(codec, codec) + (" (anchor)" if codec == anchor else "")
        ax.plot(x[keep], y[keep], label=label, **line)
        if style.spread:
            q = _quartiles(df, codec, metric, style.ms_ssim_db)
            ax.fill_between(x[keep], q[0][keep], q[1][keep], color=line["color"], alpha=0.15, linewidth=0)
    for curve in published:
        if curve.has(metric):
            x, y = curve.curve(metric)
            y = y_values(metric, y, style.ms_ssim_db)
            keep = np.isfinite(y) & (x >= lo) & (x <= hi)
            ax.plot(x[keep], y[keep], label=f"{style.names.get(curve.label, curve.label)} (published)",
                    **style.line(curve.label, published=True))
    if style.bpp_range:
        ax.set_xlim(*style.bpp_range)
    ax.grid(True, alpha=0.3)


def _quartiles(df, codec: str, metric: str, ms_ssim_db: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per point (in order of rising mean bpp): the 25th and 75th percentile of the metric over the images."""
    rows = df[df["codec"].astype(str) == codec].copy()
    rows["_y"] = y_values(metric, rows[metric].to_numpy(float), ms_ssim_db)
    order = rows.groupby("point")["bpp"].mean().sort_values().index
    q = rows.groupby("point")["_y"].quantile([0.25, 0.75]).unstack().loc[order]
    return q[0.25].to_numpy(float), q[0.75].to_numpy(float)


def grid_figure(frames: Mapping[str, Any], metrics: Sequence[str], anchor: str | None, out_base: str | Path,
                style: FigureStyle = FigureStyle(), published: Mapping[str, Sequence] | None = None) -> list[Path]:
    """One figure, a column per dataset and a row per metric; writes ``out_base`` .pdf, .svg, .png.

    ``frames``: dataset -> its ``rd.csv`` rows (a DataFrame); ``published``: dataset -> PublishedCurves.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    datasets = list(frames)
    if not datasets or not metrics:
        raise ValueError("a grid figure needs at least one dataset and one metric")
    fig = Figure(figsize=(PANEL_INCHES[0] * len(datasets), PANEL_INCHES[1] * len(metrics) + 0.9),
                 layout="constrained")
    axes = fig.subplots(len(metrics), len(datasets), squeeze=False, sharex="col")
    for j, ds in enumerate(datasets):
        for i, metric in enumerate(metrics):
            ax = axes[i][j]
            _panel(ax, frames[ds], metric, anchor, (published or {}).get(ds, ()), style)
            if i == 0:
                ax.set_title(ds)
            if i == len(metrics) - 1:
                ax.set_xlabel("bpp")
            if j == 0:
                lower = "" if metric_transform(metric) == "identity" else " (lower is better)"
                ax.set_ylabel(quality_label(metric, ms_ssim_db=style.ms_ssim_db, transform="identity") + lower,
                              fontsize=8)
    handles = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=min(5, len(handles)),
               fontsize=7, frameon=False)
    out_base = Path(out_base)
    out_base.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_base.with_suffix(s) for s in (".pdf", ".svg", ".png")]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "rdbench", "pdf.fonttype": 42}):
        with atomic_path(paths[0]) as pdf, atomic_path(paths[1]) as svg, atomic_path(paths[2]) as png:
            FigureCanvasPdf(fig).print_pdf(pdf, metadata={"CreationDate": None})
            FigureCanvasSVG(fig).print_svg(svg, metadata={"Date": None})
            fig.set_dpi(PNG_DPI)
            FigureCanvasAgg(fig).print_png(png)
    return paths
