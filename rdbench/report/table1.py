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
    source: str  # "anchor" | "measured" | "published"

    @property
    def label(self) -> str:
        return f"{self.codec} (published)" if self.source == "published" else self.codec


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

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    def entry(self, row: Row, column: tuple[str, str]) -> Entry:
        return self.entries.get((row.codec, row.source, *column), Entry(error="not computed"))

    def marked(self) -> list[tuple[Row, tuple[str, str], Entry]]:
        """Every marked cell, in table order."""
        return [(r, c, self.entry(r, c)) for r in self.rows for c in self.columns if self.entry(r, c).marks]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "anchor": self.anchor, "settings": asdict(self.settings), "columns": self.columns,
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
                   data.get("kind", "rate"))


def build_table1(rd_csvs: Mapping[str, Any], anchor: str, metrics: Sequence[str],
                 settings: BDSettings = BDSettings(), *, kind: str = "rate",
                 published: Mapping[str, Sequence] | None = None, codecs: Sequence[str] | None = None,
                 availability: Mapping[str, Any] | None = None) -> Table1:
    """Compute Table I (``kind="rate"``) or its BD-quality twin (``kind="quality"``).

    ``rd_csvs``: dataset -> its ``rd.csv``; ``metrics``: column order; ``published``: dataset -> list of
    :class:`~rdbench.report.published.PublishedCurve`; ``codecs``: row order (default: as found);
    ``availability``: the workflow's ``availability.json`` (explains a missing BPG in the notes).
    """
    from rdbench.results import read_rd_csv

    frames = {ds: read_rd_csv(path) for ds, path in rd_csvs.items()}
    found = sorted({str(c) for df in frames.values() for c in df["codec"].unique()})
    if anchor not in found:
        raise BDError(f"the anchor {anchor!r} has no results in {', '.join(map(str, rd_csvs.values()))}; codecs "
                      f"with results: {found}. Set `anchor:` (or --anchor) to one of them")
    order = list(codecs) if codecs else found
    measured = [c for c in order if c != anchor and c in found]
    rows = [Row(anchor, "anchor")] + [Row(c, "measured") for c in measured]
    pub_labels: list[str] = []
    for curves in (published or {}).values():
        pub_labels += [c.label for c in curves if c.label not in pub_labels]
    rows += [Row(label, "published") for label in pub_labels]
    columns = [(ds, m) for ds in frames for m in metrics]
    entries: dict[tuple[str, str, str, str], Entry] = {}
    for ds, df in frames.items():
        for metric in metrics:
            entries[(anchor, "anchor", ds, metric)] = _anchor_entry(df, anchor, metric)
            if entries[(anchor, "anchor", ds, metric)].error:
                continue  # the whole column is n/a; one note says why
            threshold = settings.sensitivity if kind == "rate" else (
                settings.sensitivity_quality * _quality_span(df, anchor, metric, settings))
            for codec in measured:
                entries[(codec, "measured", ds, metric)] = _entry(
                    lambda s: compare(df, anchor, codec, metric, s, kind=kind, dataset=ds),
                    lambda: sensitivity(df, anchor, codec, metric, settings, kind=kind, dataset=ds),
                    settings, threshold, kind)
            for curve in (published or {}).get(ds, []):
                if curve.has(metric):
                    entries[(curve.label, "published", ds, metric)] = _entry(
                        lambda s: compare_published(df, anchor, curve, metric, s, kind=kind, dataset=ds),
                        lambda: _published_alternatives(df, anchor, curve, metric, settings, kind, ds),
                        settings, threshold, kind)
            _rank([entries[(c, "measured", ds, metric)] for c in measured], kind)
    table = Table1(anchor, settings, columns, rows, entries, kind=kind)
    table.caption, table.notes = _caption(table, availability)
    return table


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


def _published_alternatives(df, anchor, curve, metric, settings, kind, dataset) -> dict[str, float | str]:
    """A published curve has dataset means only: its alternatives are the other methods, mean-curve."""
    out: dict[str, float | str] = {}
    for method in METHODS:
        if method != settings.method:
            try:
                out[f"{method}/mean-curve"] = compare_published(df, anchor, curve, metric, replace(settings, method=method),
                                                                kind=kind, dataset=dataset).value
            except BDError as exc:
                out[f"{method}/mean-curve"] = str(exc)
    return out


def _quality_span(df, anchor: str, metric: str, settings: BDSettings) -> float:
    """Range of the anchor's mean curve on the BD quality axis (the scale of BD-quality marks)."""
    a = codec_curves(df, anchor, metric)
    q = quality_transform(metric, np.nanmean(a.quality, axis=1), ms_ssim_db=settings.ms_ssim_db,
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


def _caption(table: Table1, availability: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    s = table.settings
    what = (f"BD-rate (%) against {table.anchor} (negative: fewer bits than the anchor for the same quality)"
            if table.kind == "rate" else
            f"BD-quality against {table.anchor}, in the units of each column's BD axis (dB for PSNR and "
            f"MS-SSIM [dB]; positive: better quality than the anchor at the same rate)")
    caption = (f"{what}. {{marks}}; published rows are references, not ranked. "
               f"Method {s.method}, averaging {s.averaging}"
               + (f", {100 * s.confidence:g}% bootstrap intervals over images ({s.bootstrap} resamples, "
                  f"seed {s.seed})" if s.bootstrap else "")
               + f"; {s.describe_range()}. {METHOD_MARK} / {AVERAGING_MARK}: another method / the other averaging "
               "moves the value by more than "
               + (f"{s.sensitivity:g} pp" if table.kind == "rate" else
                  f"{100 * s.sensitivity_quality:g}% of the anchor's quality range")
               + f"; {SMALL_OVERLAP}: the curves overlap over less than {100 * s.small_overlap:g}% "
               f"(no value below {100 * s.min_overlap:g}%).")
    notes = [f"BD settings: {s.describe()}."]
    paper = []
    if s.method != "cubic":
        paper.append(f"the TreeNet paper cites VCEG-M33 (method cubic), this table uses {s.method}, which "
                     "holds the same value under resampling of a curve (docs/bd.md); the cubic values are in "
                     "table1_details.csv and a cell is marked where they differ")
    if s.averaging != "mean-curve":
        paper.append(f"the paper's averaging is mean-curve, this table's is {s.averaging}")
    if any(m.startswith("ms-ssim") for _, m in table.columns):
        paper.append("the paper does not say whether its MS-SSIM BD is on raw values or in dB; this table's is "
                     + ("in dB, -10 log10(1 - MS-SSIM)" if s.ms_ssim_db else "on raw values (fragile, docs/bd.md)"))
    if paper:
        notes.append("Conventions: " + "; ".join(paper) + ".")
    skipped = (availability or {}).get("skipped", {})
    bpg_asked = "bpg" in skipped or "bpg" in (availability or {}).get("available", {})
    if table.anchor != "bpg" and (bpg_asked or table.anchor == "hevc444"):  # the paper's anchor, or its stand-in
        why = ""
        if "bpg" in skipped:
            why = f" BPG was not run here: {str(skipped['bpg']).rstrip('. ')}."
        notes.append(f"The paper's anchor is BPG; this table's anchor is {table.anchor}.{why}"
                     + (f" {HEVC444_NOTE}." if table.anchor == "hevc444" else ""))
    for (codec, source, ds, metric), e in table.entries.items():
        if e.error and source == "anchor":
            notes.append(f"{ds}, {metric}: the column is n/a: {e.error}")
        elif e.error:
            notes.append(f"{codec} ({source}), {ds}, {metric}: n/a: {e.error}")
        if e.marks:
            notes.append(f"{''.join(k for k, _ in e.marks)} {codec}{' (published)' if source == 'published' else ''}"
                         f", {ds}, {quality_label(metric, ms_ssim_db=s.ms_ssim_db, unit=False)}: "
                         + "; ".join(f"{k} {t}" if len(e.marks) > 1 else t for k, t in e.marks))
    return caption, notes
