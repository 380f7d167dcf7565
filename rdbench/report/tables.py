"""Table I: BD-rate of every codec against the anchor, per dataset x metric (the TreeNet paper's layout).

Rows are codecs: the anchor first (0 by definition), then the measured codecs, then published
reference curves (imported CompressAI JSON, marked "published", never ranked). Columns are
(dataset, metric) pairs. In every column the most negative measured BD-rate is the best and the next
distinct value the second best: bold / italic in Markdown, red / blue in LaTeX (as the paper), and
both in HTML. A value that is undefined (no overlap, too few points, codec not run) is shown as
"n/a" and its reason kept in the notes and in ``table1_details.csv``, never replaced by a number.

Files written by :func:`write_tables` into ``{results}/tables/``: ``table1.csv`` (wide, one column per
dataset/metric), ``table1_details.csv`` (one row per value: interval, overlap, method, averaging,
images, notes), ``table1.md``, ``table1.tex``, ``table1.html``, ``table1.json`` (what the HTML report
reads) and ``tables.md`` (Table I plus Tables II/III when ``{results}/complexity/table2.csv`` /
``table3.csv`` exist; those are computed elsewhere and only rendered here).
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from rdbench.bd import BDError, quality_label
from rdbench.report.compare import BDSettings, compare, compare_published
from rdbench.atomic import write_text as atomic_write_text

HEVC444_NOTE = ("hevc444 is x265 with bpgenc's settings (preset veryslow, tune ssim, constant QP, intra, "
                "4:4:4 8-bit, YCbCr BT.601 full range): BPG's encoder without its container")
COMPLEXITY = {"table2": "Table II", "table3": "Table III"}


@dataclass
class Entry:
    """One value of Table I: BD-rate in percent (None when undefined, with ``error`` saying why)."""

    value: float | None = None
    ci: tuple[float, float] | None = None
    overlap: float | None = None
    n_images: int = 0
    rank: int | None = None  # 1 best, 2 second best (measured rows only)
    error: str | None = None
    notes: tuple[str, ...] = ()


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

    def entry(self, row: Row, column: tuple[str, str]) -> Entry:
        return self.entries.get((row.codec, row.source, *column), Entry(error="not computed"))

    def to_json(self) -> dict[str, Any]:
        return {"anchor": self.anchor, "settings": asdict(self.settings), "columns": self.columns,
                "rows": [asdict(r) for r in self.rows], "caption": self.caption, "notes": self.notes,
                "entries": [{"codec": k[0], "source": k[1], "dataset": k[2], "metric": k[3], **asdict(e)}
                            for k, e in self.entries.items()]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Table1":
        entries = {}
        for e in data["entries"]:
            e = dict(e)
            key = (e.pop("codec"), e.pop("source"), e.pop("dataset"), e.pop("metric"))
            e["ci"] = tuple(e["ci"]) if e.get("ci") else None
            e["notes"] = tuple(e.get("notes") or ())
            entries[key] = Entry(**e)
        return cls(data["anchor"], BDSettings(**data["settings"]), [tuple(c) for c in data["columns"]],
                   [Row(**r) for r in data["rows"]], entries, data.get("caption", ""), list(data.get("notes", [])))


def build_table1(rd_csvs: Mapping[str, str | Path], anchor: str, metrics: Sequence[str],
                 settings: BDSettings = BDSettings(), *, published: Mapping[str, Sequence] | None = None,
                 codecs: Sequence[str] | None = None, availability: Mapping[str, Any] | None = None) -> Table1:
    """Compute Table I.

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
            for codec in measured:
                entries[(codec, "measured", ds, metric)] = _entry(lambda: compare(
                    df, anchor, codec, metric, settings, dataset=ds))
            for curve in (published or {}).get(ds, []):
                if curve.has(metric):
                    entries[(curve.label, "published", ds, metric)] = _entry(lambda: compare_published(
                        df, anchor, curve, metric, settings, dataset=ds))
            _rank([entries[(c, "measured", ds, metric)] for c in measured])
    table = Table1(anchor, settings, columns, rows, entries)
    table.caption, table.notes = _caption(table, availability)
    return table


def _entry(fn) -> Entry:
    try:
        c = fn()
    except BDError as exc:
        return Entry(error=str(exc))
    return Entry(c.value, c.ci, c.overlap, c.n_images, None, None, c.notes)


def _anchor_entry(df, anchor: str, metric: str) -> Entry:
    if anchor not in set(df["codec"].astype(str)):
        return Entry(error=f"the anchor {anchor!r} has no results on this dataset")
    if metric not in df.columns:
        return Entry(error=f"{metric!r} was not measured on this dataset")
    return Entry(0.0, None, 1.0, int(df[df["codec"].astype(str) == anchor]["image"].nunique()))


def _rank(entries: list[Entry]) -> None:
    """Best (1) = most negative BD-rate, second (2) = next distinct value; ties share a rank."""
    values = sorted({e.value for e in entries if e.value is not None})
    for e in entries:
        if e.value is not None and e.value in values[:2]:
            e.rank = values.index(e.value) + 1


def _caption(table: Table1, availability: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    s = table.settings
    caption = (f"BD-rate (%) against {table.anchor} (negative: fewer bits than the anchor for the same "
               f"quality). {{marks}}; published rows are references, not ranked. "
               f"Method {s.method}, averaging {s.averaging}"
               + (f", {100 * s.confidence:g}% bootstrap intervals over images ({s.bootstrap} resamples, "
                  f"seed {s.seed})" if s.bootstrap else "") + ".")
    notes = [f"BD settings: {s.describe()}."]
    if table.anchor != "bpg":
        why = ""
        skipped = (availability or {}).get("skipped", {})
        if "bpg" in skipped:
            why = f" BPG was not run here: {str(skipped['bpg']).rstrip('. ')}."
        notes.append(f"The paper's anchor is BPG; this table's anchor is {table.anchor}.{why}"
                     + (f" {HEVC444_NOTE}." if table.anchor == "hevc444" else ""))
    for (codec, source, ds, metric), e in table.entries.items():
        if e.error and source == "anchor":
            notes.append(f"{ds}, {metric}: the column is n/a: {e.error}")
        elif e.error:
            notes.append(f"{codec} ({source}), {ds}, {metric}: n/a: {e.error}")
    return caption, notes


# --- renderers --------------------------------------------------------------------------------------

def _caption_for(table: Table1, best: str, second: str) -> str:
    return table.caption.replace("{marks}", f"Best in each column in {best}, second best in {second}")


def _fmt(e: Entry, ci: bool = False) -> str:
    if e.value is None:
        return "n/a"
    text = f"{e.value:.2f}"
    if ci and e.ci:
        text += f" [{e.ci[0]:.2f}, {e.ci[1]:.2f}]"
    return text


def _head(metric: str, ms_ssim_db: bool) -> str:
    return quality_label(metric, ms_ssim_db=ms_ssim_db, unit=False)


def to_csv(table: Table1) -> str:
    """Wide CSV: codec, source, then one column ``dataset/metric`` of BD-rate percent (blank: n/a)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["codec", "source"] + [f"{ds}/{m}" for ds, m in table.columns])
    for row in table.rows:
        w.writerow([row.codec, row.source] + [
            "" if (e := table.entry(row, col)).value is None else f"{e.value:.4f}" for col in table.columns])
    return buf.getvalue()


def to_details_csv(table: Table1) -> str:
    """One row per value with its interval, overlap, rank, image count, error and notes."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "metric", "codec", "source", "anchor", "bd_rate_percent", "ci_low", "ci_high",
                "overlap", "rank", "n_images", "method", "averaging", "bootstrap", "seed", "error", "notes"])
    s = table.settings
    for row in table.rows:
        for ds, m in table.columns:
            e = table.entry(row, (ds, m))
            w.writerow([ds, m, row.codec, row.source, table.anchor, _num(e.value), _num(e.ci and e.ci[0]),
                        _num(e.ci and e.ci[1]), _num(e.overlap), e.rank or "", e.n_images, s.method,
                        "mean-curve" if row.source == "published" else s.averaging,
                        0 if row.source == "published" else s.bootstrap, s.seed, e.error or "", " | ".join(e.notes)])
    return buf.getvalue()


def to_markdown(table: Table1) -> str:
    db = table.settings.ms_ssim_db
    multi = len({ds for ds, _ in table.columns}) > 1
    heads = [f"{ds} {_head(m, db)}" if multi else _head(m, db) for ds, m in table.columns]
    lines = [f"**Table I.** {_caption_for(table, 'bold', 'italic')}", "", "| Codec | " + " | ".join(heads) + " |",
             "|---|" + "---:|" * len(heads)]
    for row in table.rows:
        cells = []
        for col in table.columns:
            e = table.entry(row, col)
            text = _fmt(e, ci=True)
            cells.append(f"**{text}**" if e.rank == 1 else f"*{text}*" if e.rank == 2 else text)
        label = f"{row.codec} (anchor)" if row.source == "anchor" else row.label
        lines.append(f"| {_md_escape(label)} | " + " | ".join(cells) + " |")
    lines += [""] + [f"- {_md_escape(n)}" for n in table.notes]
    return "\n".join(lines) + "\n"


def to_latex(table: Table1) -> str:
    """A booktabs table; needs ``\\usepackage{booktabs,xcolor}``. Best red, second blue (as the paper)."""
    db = table.settings.ms_ssim_db
    datasets = list(dict.fromkeys(ds for ds, _ in table.columns))
    spans = [sum(1 for d, _ in table.columns if d == ds) for ds in datasets]
    out = ["% Table I generated by rdbench; needs \\usepackage{booktabs,xcolor}",
           "\\begin{table}[t]", "\\centering",
           f"\\caption{{{_tex(_caption_for(table, 'red', 'blue'))}}}",
           "\\label{tab:bd-rate}", "\\begin{tabular}{l" + "r" * len(table.columns) + "}", "\\toprule"]
    out.append(" & " + " & ".join(f"\\multicolumn{{{n}}}{{c}}{{{_tex(ds)}}}" for ds, n in zip(datasets, spans))
               + " \\\\")
    start = 2
    rules = []
    for n in spans:
        rules.append(f"\\cmidrule(lr){{{start}-{start + n - 1}}}")
        start += n
    out.append(" ".join(rules))
    out.append("Codec & " + " & ".join(_tex(_head(m, db)) for _, m in table.columns) + " \\\\")
    out.append("\\midrule")
    source = None
    for row in table.rows:
        if source == "measured" and row.source == "published":
            out.append("\\midrule")
        source = row.source
        cells = []
        for col in table.columns:
            e = table.entry(row, col)
            text = "--" if e.value is None else f"${e.value:.2f}$"
            cells.append(f"\\textcolor{{red}}{{{text}}}" if e.rank == 1 else
                         f"\\textcolor{{blue}}{{{text}}}" if e.rank == 2 else text)
        label = _tex(row.codec) + {"anchor": " (anchor)", "published": " (\\textit{published})"}.get(row.source, "")
        out.append(f"{label} & " + " & ".join(cells) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(out) + "\n"


def to_html(table: Table1) -> str:
    """An HTML fragment (``<table class="bd">`` and its notes), styled by the report's CSS."""
    db = table.settings.ms_ssim_db
    datasets = list(dict.fromkeys(ds for ds, _ in table.columns))
    esc = html.escape
    caption = esc(_caption_for(table, "bold red", "italic blue"))
    h = [f'<figure class="table"><figcaption><b>Table I.</b> {caption}</figcaption>',
         '<table class="bd" id="table1"><thead>',
         '<tr><th rowspan="2">Codec</th>' + "".join(
             f'<th colspan="{sum(1 for d, _ in table.columns if d == ds)}">{esc(ds)}</th>' for ds in datasets)
         + "</tr>",
         "<tr>" + "".join(f"<th>{esc(_head(m, db))}</th>" for _, m in table.columns) + "</tr></thead><tbody>"]
    for row in table.rows:
        cells = []
        for col in table.columns:
            e = table.entry(row, col)
            cls = {1: "best", 2: "second"}.get(e.rank, "na" if e.value is None else "")
            tip = e.error or "; ".join(filter(None, [
                f"{100 * table.settings.confidence:g}% CI {e.ci[0]:.2f} .. {e.ci[1]:.2f}" if e.ci else "",
                f"overlap {100 * e.overlap:.0f}%" if e.overlap is not None else "",
                f"{e.n_images} images" if e.n_images else "", *e.notes]))
            ci = (f'<span class="ci">[{e.ci[0]:.2f}, {e.ci[1]:.2f}]</span>' if e.ci else "")
            cells.append(f'<td class="{cls}" title="{esc(tip)}">{esc(_fmt(e))}{ci}</td>')
        tag = {"anchor": ' <span class="tag">anchor</span>', "published": ' <span class="tag pub">published</span>'}
        h.append(f'<tr class="{row.source}"><th>{esc(row.codec)}{tag.get(row.source, "")}</th>{"".join(cells)}</tr>')
    h.append("</tbody></table></figure>")
    h.append('<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in table.notes) + "</ul>")
    return "\n".join(h) + "\n"


def complexity_tables(results_dir: str | Path) -> dict[str, list[list[str]]]:
    """Tables II/III as rows of strings (header first), for those of ``complexity/table{2,3}.csv`` that exist,
    then one Table III per further architecture (``complexity/table3-<architecture>.csv``)."""
    out = {}
    folder = Path(results_dir) / "complexity"
    stems = dict(COMPLEXITY)
    stems.update({p.stem: f"Table III ({p.stem[len('table3-'):]})" for p in sorted(folder.glob("table3-*.csv"))})
    for stem, title in stems.items():
        path = folder / f"{stem}.csv"
        if path.is_file():
            with open(path, newline="", encoding="utf-8") as f:
                out[title] = _readable([r for r in csv.reader(f) if r])
    return out


def _readable(rows: list[list[str]]) -> list[list[str]]:
    """CSV header and numbers as a reader wants them: kMAC/px to 2 decimals, parameters in millions."""
    head = rows[0]
    out = [[h.replace("kmac_px", "kMAC/px").replace("_", " ") for h in head]]
    for row in rows[1:]:
        cells = []
        for name, cell in zip(head, row):
            try:
                value = float(cell)
            except ValueError:
                cells.append(cell)
                continue
            cells.append(f"{value / 1e6:.3f} M" if name == "params" else f"{value:.2f} M" if name == "paper_params"
                         else cell if name == "instances" else f"{value:.2f}")
        out.append(cells)
    return out


def rows_to_markdown(title: str, rows: list[list[str]]) -> str:
    head, body = rows[0], rows[1:]
    lines = [f"**{title}.**", "", "| " + " | ".join(map(_md_escape, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(_md_escape, r)) + " |" for r in body]
    return "\n".join(lines) + "\n"


def rows_to_html(title: str, rows: list[list[str]]) -> str:
    esc = html.escape
    head, body = rows[0], rows[1:]
    return (f'<p class="tcap"><b>{esc(title)}.</b></p><table class="plain"><thead><tr>'
            + "".join(f"<th>{esc(c)}</th>" for c in head) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in body)
            + "</tbody></table>\n")


def write_tables(table: Table1, out_dir: str | Path, results_dir: str | Path | None = None) -> list[Path]:
    """Write every Table I format (and ``tables.md`` with Tables II/III when present); returns the paths."""
    from rdbench.report.html import STYLE

    out_dir = Path(out_dir)
    docs = {"table1.csv": to_csv(table), "table1_details.csv": to_details_csv(table),
            "table1.md": to_markdown(table), "table1.tex": to_latex(table),
            "table1.json": json.dumps(table.to_json(), indent=1) + "\n",
            "table1.html": ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Table I"
                            f"</title><style>{STYLE}</style></head><body>\n{to_html(table)}</body></html>\n")}
    md = [docs["table1.md"]]
    for title, rows in complexity_tables(results_dir or out_dir.parent).items():
        md.append(rows_to_markdown(title, rows))
    docs["tables.md"] = "\n".join(md)
    paths = []
    for name, text in docs.items():
        atomic_write_text(out_dir / name, text)
        paths.append(out_dir / name)
    return paths


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.6g}"


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


_TEX = {"\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "#": "\\#", "_": "\\_", "$": "\\$", "{": "\\{",
        "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}"}


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(text))
