"""Table I: BD of every codec against the anchor, per dataset x metric (the TreeNet paper's layout).

Two tables share this model: BD-rate (``kind="rate"``, percent, lower is better) and BD-quality
(``kind="quality"``, the metric's units on the BD axis, higher is better). Rows are codecs: the anchor
first (0 by definition), then the measured codecs, then published reference curves (imported
CompressAI JSON, marked "published", never ranked). Columns are (dataset, metric) pairs. In every
column the best measured value is ranked 1 and the next distinct value 2. A value that is undefined
(no overlap, overlap below ``min_overlap``, too few points, codec not run) has no number, only its
reason (``Entry.error``).

Marks (:data:`MARKS`), each with a note saying by how much. The threshold is ``sensitivity``
percentage points for BD-rate and ``sensitivity_quality`` x the anchor's quality range for BD-quality:

``†`` method-sensitive: another method (pchip, cubic, akima), same averaging, moves the value by more
      than the threshold;
``§`` averaging-sensitive: the other averaging (mean-curve, per-image), same method, does;
``‡`` small overlap: the two curves overlap over less than ``small_overlap`` of the union of their
      ranges on the integration axis.

Every alternative is kept in ``Entry.alternatives`` (and ``table1_details.csv``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from rdbench.bd import METHODS, BDError, metric_transform, quality_label, quality_transform
from rdbench.report.compare import AVERAGING, BDSettings, codec_curves, compare, compare_published, sensitivity

METHOD_MARK, AVERAGING_MARK, SMALL_OVERLAP = "†", "§", "‡"
MARKS = {METHOD_MARK: "another BD method moves the value", AVERAGING_MARK: "the other averaging moves the value",
         SMALL_OVERLAP: "small overlap of the two curves"}
HEVC444_NOTE = ("hevc444 is x265 with bpgenc's settings (preset veryslow, tune ssim, constant QP, intra, "
                "4:4:4 8-bit, YCbCr BT.601 full range): BPG's encoder without its container")
TITLES = {"rate": "Table I", "quality": "Table I (BD-quality)"}


@dataclass
class Entry:
    """One value of Table I (None when undefined, with ``error`` saying why).

    ``shares``: (anchor, test) share of each curve's own range that the overlap covers;
    ``alternatives``: ``"method/averaging"`` -> value, or the reason it is undefined; ``marks``:
    (symbol, note) pairs.
    """

    value: float | None = None
    ci: tuple[float, float] | None = None
    overlap: float | None = None
    n_images: int = 0
    rank: int | None = None  # 1 best, 2 second best (measured rows only)
    error: str | None = None
    notes: tuple[str, ...] = ()
    shares: tuple[float, float] | None = None
    quality_interval: tuple[float, float] | None = None
    rate_interval: tuple[float, float] | None = None
    alternatives: dict[str, float | str] = field(default_factory=dict)
    marks: tuple[tuple[str, str], ...] = ()

    def spread(self, keys: Sequence[str]) -> tuple[float, str] | None:
        """(largest |alternative - value|, which alternative), over the defined alternatives among ``keys``."""
        numbers = {k: v for k in keys if isinstance(v := self.alternatives.get(k), (int, float))}
        if self.value is None or not numbers:
            return None
        key = max(numbers, key=lambda k: abs(numbers[k] - self.value))
        return abs(numbers[key] - self.value), key


@dataclass
class Row:
    codec: str
    source: str  # "published-anchor" | "anchor" | "measured" | "published" | "not available"

    @property
    def label(self) -> str:
        return f"{self.codec} (published)" if self.source.startswith("published") else self.codec


@dataclass
class Table1:
    anchor: str
    settings: BDSettings
    columns: list[tuple[str, str]]  # (dataset, metric)
    rows: list[Row]
    entries: dict[tuple[str, str, str, str], Entry]  # (codec, source, dataset, metric)
    caption: str = ""  # "{marks}" stands for the best/second styling, filled per format
    notes: list[str] = field(default_factory=list)
    kind: str = "rate"
    column_anchors: dict[str, str] = field(default_factory=dict)  # "dataset/metric" -> what anchors it

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    def entry(self, row: Row, column: tuple[str, str]) -> Entry:
        return self.entries.get((row.codec, row.source, *column), Entry(error="not computed"))

    def marked(self) -> list[tuple[Row, tuple[str, str], Entry]]:
        """Every marked cell, in table order."""
        return [(r, c, self.entry(r, c)) for r in self.rows for c in self.columns if self.entry(r, c).marks]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "anchor": self.anchor, "column_anchors": self.column_anchors,
                "settings": asdict(self.settings), "columns": self.columns,
                "rows": [asdict(r) for r in self.rows], "caption": self.caption, "notes": self.notes,
                "entries": [{"codec": k[0], "source": k[1], "dataset": k[2], "metric": k[3], **asdict(e)}
                            for k, e in self.entries.items()]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Table1":
        entries = {}
        for e in data["entries"]:
            e = dict(e)
            key = (e.pop("codec"), e.pop("source"), e.pop("dataset"), e.pop("metric"))
            for name in ("ci", "shares", "quality_interval", "rate_interval"):
                e[name] = tuple(e[name]) if e.get(name) else None
            e["notes"] = tuple(e.get("notes") or ())
            e["marks"] = tuple(tuple(m) for m in e.get("marks") or ())
            entries[key] = Entry(**e)
        settings = dict(data["settings"])
        return cls(data["anchor"], BDSettings(**settings), [tuple(c) for c in data["columns"]],
                   [Row(**r) for r in data["rows"]], entries, data.get("caption", ""), list(data.get("notes", [])),
                   data.get("kind", "rate"), dict(data.get("column_anchors") or {}))


PUBLISHED_ANCHOR = "published:"  # a Table I anchor naming a published row of the dataset (``published:BPG``)


def build_table1(rd_csvs: Mapping[str, Any], anchor: str, metrics: Sequence[str],
                 settings: BDSettings = BDSettings(), *, kind: str = "rate",
                 published: Mapping[str, Sequence] | None = None, codecs: Sequence[str] | None = None,
                 availability: Mapping[str, Any] | None = None, anchors: Mapping[str, str] | None = None,
                 missing: Mapping[str, str] | None = None, not_available: Mapping[str, str] | None = None,
                 datasets: Sequence[str] | None = None) -> Table1:
    """Compute Table I (``kind="rate"``) or its BD-quality twin (``kind="quality"``).

    ``rd_csvs``: dataset -> its ``rd.csv``; ``anchor``: the measured anchor codec; ``metrics``: column order;
    ``published``: dataset -> list of :class:`~rdbench.report.published.PublishedCurve`; ``codecs``: row order
    (default: as found); ``availability``: the workflow's ``availability.json`` (explains a missing BPG in the
    notes); ``anchors``: dataset -> Table I's anchor there, ``published:<row>`` (a published curve of that
    dataset, the paper's BPG) or a codec (default ``anchor``); a column whose metric the published anchor lacks
    is anchored on ``anchor``, said in the notes. ``missing``: dataset -> why it has no measured data (its group
    shows the published rows only); ``not_available``: row -> why the paper's row has no curve at all;
    ``datasets``: column group order (default: ``rd_csvs`` then ``missing``).
    """
    from rdbench.results import read_rd_csv

    frames = {ds: read_rd_csv(path) for ds, path in rd_csvs.items()}
    missing, anchors, published = dict(missing or {}), dict(anchors or {}), dict(published or {})
    groups = list(datasets or dict.fromkeys([*frames, *missing]))
    found = sorted({str(c) for df in frames.values() for c in df["codec"].unique()})
    if frames and anchor not in found:
        raise BDError(f"the anchor {anchor!r} has no results in {', '.join(map(str, rd_csvs.values()))}; codecs "
                      f"with results: {found}. Set `anchor:` (or --anchor) to one of them")
    curves = {ds: {c.label: c for c in published.get(ds, [])} for ds in groups}
    anchor_curves = {ds: _published_anchor(ds, anchors.get(ds, anchor), curves[ds]) for ds in groups}
    order = list(codecs) if codecs else found
    measured = [c for c in order if c != anchor and c in found]
    pub_anchor_labels = list(dict.fromkeys(c.label for c in anchor_curves.values() if c is not None))
    rows = [Row(label, "published-anchor") for label in pub_anchor_labels]
    rows += [Row(anchor, "anchor")] + [Row(c, "measured") for c in measured]
    pub_labels = list(dict.fromkeys(label for ds in groups for label in curves[ds]))
    rows += [Row(label, "published") for label in pub_labels if label not in pub_anchor_labels]
    rows += [Row(label, "not available") for label in (not_available or {})]
    columns = [(ds, m) for ds in groups for m in metrics]
    entries: dict[tuple[str, str, str, str], Entry] = {}
    column_anchors: dict[str, str] = {}
    for ds in groups:
        for metric in metrics:
            column_anchors[f"{ds}/{metric}"] = _column(
                entries, ds, metric, frames.get(ds), anchor, [anchor, *measured], anchor_curves[ds], curves[ds],
                missing.get(ds), settings, kind)
            for label, reason in (not_available or {}).items():
                entries[(label, "not available", ds, metric)] = Entry(error=f"not available: {reason}")
    table = Table1(anchor, settings, columns, rows, entries, kind=kind, column_anchors=column_anchors)
    from rdbench.report.table1_notes import caption

    table.caption, table.notes = caption(table, availability, missing, anchor_curves)
    return table


def _published_anchor(ds: str, spec: str, curves: Mapping[str, Any]):
    """The published curve a dataset's Table I anchor names, None for a measured anchor; a clear error else."""
    if not spec.startswith(PUBLISHED_ANCHOR):
        return None
    label = spec[len(PUBLISHED_ANCHOR):]
    if label not in curves:
        raise BDError(f"table1 anchor of {ds}: {spec!r} names no published row of {ds}; its published rows: "
                      f"{sorted(curves) or 'none'} (list the curve under `published: {ds}:`)")
    return curves[label]


def _column(entries, ds, metric, df, anchor, codecs, anchor_curve, curves, missing, settings, kind) -> str:
    """Fill the entries of one (dataset, metric) column; return what anchors it."""
    from rdbench.report.anchored import measured_vs_published, other_methods, published_vs_published

    if anchor_curve is not None and not anchor_curve.has(metric):
        anchor_curve = None  # the measured anchor stands in (said in the notes)
    if df is None:
        for codec in codecs:
            entries[(codec, "anchor" if codec == anchor else "measured", ds, metric)] = Entry(
                error=f"not measured on {ds}: {missing}")
    if anchor_curve is None:
        if df is None:
            for curve in curves.values():
                if curve.has(metric):
                    entries[(curve.label, "published", ds, metric)] = Entry(
                        error=f"no anchor: {anchor} was not measured on {ds} and no published anchor has {metric}")
            return "none"
        _measured_column(entries, ds, metric, df, anchor, codecs[1:], curves.values(), settings, kind)
        return anchor
    key = (anchor_curve.label, "published-anchor", ds, metric)
    entries[key] = Entry(0.0, None, 1.0, 0, shares=(1.0, 1.0))
    rate, values = anchor_curve.curve(metric)
    threshold = settings.sensitivity if kind == "rate" else settings.sensitivity_quality * _span(metric, values, settings)
    tests = []
    for codec in codecs if df is not None else ():
        compute = (lambda c: lambda s: measured_vs_published(df, anchor_curve, c, metric, s, kind=kind, dataset=ds))(codec)
        e = _entry(compute, lambda f=compute: other_methods(f, settings), settings, threshold, kind)
        entries[(codec, "anchor" if codec == anchor else "measured", ds, metric)] = e
        tests.append(e)
    for curve in curves.values():
        if curve.has(metric) and curve.label != anchor_curve.label:
            compute = (lambda c: lambda s: published_vs_published(anchor_curve, c, metric, s, kind=kind,
                                                                  dataset=ds))(curve)
            entries[(curve.label, "published", ds, metric)] = _entry(
                compute, lambda f=compute: other_methods(f, settings), settings, threshold, kind)
    _rank(tests, kind)
    return f"{anchor_curve.label} (published)"


def _measured_column(entries, ds, metric, df, anchor, measured, curves, settings, kind) -> None:
    from rdbench.report.anchored import other_methods

    entries[(anchor, "anchor", ds, metric)] = _anchor_entry(df, anchor, metric)
    if entries[(anchor, "anchor", ds, metric)].error:
        return  # the whole column is n/a; one note says why
    threshold = settings.sensitivity if kind == "rate" else (
        settings.sensitivity_quality * _quality_span(df, anchor, metric, settings))
    for codec in measured:
        entries[(codec, "measured", ds, metric)] = _entry(
            lambda s: compare(df, anchor, codec, metric, s, kind=kind, dataset=ds),
            lambda: sensitivity(df, anchor, codec, metric, settings, kind=kind, dataset=ds),
            settings, threshold, kind)
    for curve in curves:
        if curve.has(metric):
            compute = (lambda c: lambda s: compare_published(df, anchor, c, metric, s, kind=kind, dataset=ds))(curve)
            entries[(curve.label, "published", ds, metric)] = _entry(
                compute, lambda f=compute: other_methods(f, settings), settings, threshold, kind)
    _rank([entries[(c, "measured", ds, metric)] for c in measured], kind)


def _entry(compute, alternatives, settings: BDSettings, threshold: float, kind: str) -> Entry:
    try:
        c = compute(settings)
    except BDError as exc:
        return Entry(error=str(exc), alternatives=alternatives())
    e = Entry(c.value, c.ci, c.overlap, c.n_images, None, None, c.notes, c.shares, c.quality_interval,
              c.rate_interval, alternatives())
    marks = []
    unit, digits = (" pp", 2) if kind == "rate" else ("", 4)
    averaging = c.settings.averaging  # a published curve's is always mean-curve
    for mark, keys in ((METHOD_MARK, [f"{m}/{averaging}" for m in METHODS]),
                       (AVERAGING_MARK, [f"{settings.method}/{a}" for a in AVERAGING])):
        spread = e.spread(keys)
        if spread and spread[0] > threshold:
            marks.append((mark, f"{spread[1]} gives {e.alternatives[spread[1]]:.{digits}f}, {spread[0]:.{digits}f}"
                                f"{unit} from {c.value:.{digits}f} (threshold {threshold:.3g}{unit})"))
    if c.overlap < settings.small_overlap:
        marks.append((SMALL_OVERLAP, f"the curves overlap over {100 * c.overlap:.0f}% of the union of their "
                                     f"{'quality' if kind == 'rate' else 'log-rate'} ranges ({100 * c.shares[0]:.0f}% "
                                     f"of the anchor's, {100 * c.shares[1]:.0f}% of the test's; marked below "
                                     f"{100 * settings.small_overlap:g}%)"))
    e.marks = tuple(marks)
    return e


def _quality_span(df, anchor: str, metric: str, settings: BDSettings) -> float:
    """Range of the anchor's mean curve on the BD quality axis (the scale of BD-quality marks)."""
    return _span(metric, np.nanmean(codec_curves(df, anchor, metric).quality, axis=1), settings)


def _span(metric: str, values, settings: BDSettings) -> float:
    q = quality_transform(metric, np.asarray(values, float), ms_ssim_db=settings.ms_ssim_db,
                          transform=metric_transform(metric))
    q = q[np.isfinite(q)]
    return float(q.max() - q.min()) if q.size else float("nan")


def _anchor_entry(df, anchor: str, metric: str) -> Entry:
    if anchor not in set(df["codec"].astype(str)):
        return Entry(error=f"the anchor {anchor!r} has no results on this dataset")
    if metric not in df.columns:
        return Entry(error=f"{metric!r} was not measured on this dataset")
    return Entry(0.0, None, 1.0, int(df[df["codec"].astype(str) == anchor]["image"].nunique()), shares=(1.0, 1.0))


def _rank(entries: list[Entry], kind: str) -> None:
    """Best (1) = most negative BD-rate / highest BD-quality, second (2) = next distinct value; ties share."""
    values = sorted({e.value for e in entries if e.value is not None}, reverse=kind == "quality")
    for e in entries:
        if e.value is not None and e.value in values[:2]:
            e.rank = values.index(e.value) + 1
