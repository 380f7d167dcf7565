"""Table I in every format: CSV, details CSV, Markdown, LaTeX, HTML, JSON (the model: rdbench.report.table1).

Best / second best are bold / italic in Markdown, red / blue in LaTeX (as the paper) and both in HTML;
marks (``†`` another BD method, ``§`` the other averaging moves the value; ``‡`` small overlap; see
rdbench.report.table1) follow the value in every
format, and every marked cell has a note saying by how much. Intervals are kept in Markdown and LaTeX
(``bd.latex_interval``: brackets, pm or none).

Files written by :func:`write_tables` into ``{results}/tables/``: ``table1.{csv,md,tex,html,json}`` and
``table1_long.csv`` (one row per cell, the column's anchor with it)
(BD-rate), ``table1_quality.{csv,md,tex,html,json}`` (BD-quality), ``table1_details.csv`` (one row per
value of both: interval, overlap on both axes and each curve's share, rank, marks, the value under every
method and averaging, notes) and ``tables.md`` (both tables plus Tables II/III when
``{results}/complexity/table2.csv`` / ``table3.csv`` exist; those are computed elsewhere and only rendered here).
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import Sequence

from rdbench.atomic import write_text as atomic_write_text
from rdbench.bd import METHODS, quality_label
from rdbench.report.compare import AVERAGING
from rdbench.report.table1 import MARKS, Entry, Table1, build_table1  # noqa: F401 (re-exported)

COMPLEXITY = {"table2": "Table II", "table3": "Table III"}
STEMS = {"rate": "table1", "quality": "table1_quality"}
MARK_NOTE = ' class="mark-note"'


def _caption_for(table: Table1, best: str, second: str) -> str:
    return table.caption.replace("{marks}", f"Best in each column in {best}, second best in {second}")


def _num(table: Table1, metric: str, v: float) -> str:
    """BD-rate to 2 decimals; BD-quality to 3 in dB, 4 on a 0..1 axis (1-LPIPS ...)."""
    if table.kind == "rate" or v == 0:
        return f"{v:.2f}"
    return f"{v:.3f}" if quality_label(metric, ms_ssim_db=table.settings.ms_ssim_db).endswith("[dB]") else f"{v:.4f}"


def _fmt(table: Table1, metric: str, e: Entry, ci: bool = False) -> str:
    if e.value is None:
        return "n/a"
    text = _num(table, metric, e.value)
    if ci and e.ci:
        text += f" [{_num(table, metric, e.ci[0])}, {_num(table, metric, e.ci[1])}]"
    return text


def _marks(e: Entry) -> str:
    return "".join(symbol for symbol, _ in e.marks)


def _tags(table: Table1, row) -> list[str]:
    """What a row is, in words: published, anchor, stand-in anchor (where a published curve anchors the rest)."""
    stand_in = any(a.endswith("(published)") for a in table.column_anchors.values())
    return {"published-anchor": ["published", "anchor"], "published": ["published"],
            "anchor": ["stand-in anchor" if stand_in else "anchor"],
            "not available": ["not available"]}.get(row.source, [])


def _published_column(table: Table1, ds: str, metric: str) -> bool:
    return table.column_anchors.get(f"{ds}/{metric}", "").endswith("(published)")


def _head(metric: str, ms_ssim_db: bool) -> str:
    return quality_label(metric, ms_ssim_db=ms_ssim_db, unit=False)


def to_csv(table: Table1) -> str:
    """Wide CSV: codec, source, then one column ``dataset/metric`` of values (blank: n/a)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["codec", "source"] + [f"{ds}/{m}" for ds, m in table.columns])
    for row in table.rows:
        w.writerow([row.codec, row.source] + [
            "" if (e := table.entry(row, col)).value is None else f"{e.value:.4f}" for col in table.columns])
    return buf.getvalue()


def to_long_csv(table: Table1) -> str:
    """Long CSV, one row per cell: dataset, metric, codec, source, the column's anchor, value, interval, rank,
    marks, and the reason when there is no value."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "metric", "codec", "source", "anchor", "value", "ci_low", "ci_high", "rank", "marks",
                "error"])
    for ds, m in table.columns:
        for row in table.rows:
            e = table.entry(row, (ds, m))
            w.writerow([ds, m, row.codec, row.source, table.column_anchors.get(f"{ds}/{m}", table.anchor),
                        _cell(e.value), _cell(e.ci and e.ci[0]), _cell(e.ci and e.ci[1]), e.rank or "", _marks(e),
                        e.error or ""])
    return buf.getvalue()


ALTERNATIVES = [f"{m}/{a}" for m in METHODS for a in AVERAGING]


def to_details_csv(tables: Sequence[Table1]) -> str:
    """One row per value of every table: interval, overlap, shares, rank, marks, every method/averaging, notes."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "metric", "kind", "codec", "source", "anchor", "value", "ci_low", "ci_high", "overlap",
                "share_anchor", "share_test", "quality_lo", "quality_hi", "rate_lo_bpp", "rate_hi_bpp", "rank",
                "marks", "n_images", "method", "averaging", "bootstrap", "seed", "rate_range", *ALTERNATIVES,
                "error", "notes"])
    for table in tables:
        s = table.settings
        for row in table.rows:
            for ds, m in table.columns:
                e = table.entry(row, (ds, m))
                means_only = row.source.startswith("published") or _published_column(table, ds, m)
                averaging = "mean-curve" if means_only else s.averaging
                own = {f"{s.method}/{averaging}": e.value if e.value is not None else e.error}
                alts = [_cell({**e.alternatives, **own}.get(k)) for k in ALTERNATIVES]
                w.writerow([ds, m, table.kind, row.codec, row.source, table.column_anchors.get(f"{ds}/{m}", table.anchor),
                            _cell(e.value),
                            _cell(e.ci and e.ci[0]), _cell(e.ci and e.ci[1]), _cell(e.overlap),
                            *[_cell(e.shares and e.shares[k]) for k in (0, 1)],
                            *[_cell(e.quality_interval and e.quality_interval[k]) for k in (0, 1)],
                            *[_cell(e.rate_interval and e.rate_interval[k]) for k in (0, 1)], e.rank or "",
                            _marks(e), e.n_images, s.method, averaging, 0 if row.source.startswith("published") else s.bootstrap,
                            s.seed, "" if s.rate_range is None else f"{s.rate_range[0]:g}-{s.rate_range[1]:g}",
                            *alts, e.error or "", " | ".join([*e.notes, *(f"{k} {t}" for k, t in e.marks)])])
    return buf.getvalue()


def to_markdown(table: Table1) -> str:
    db = table.settings.ms_ssim_db
    multi = len({ds for ds, _ in table.columns}) > 1
    heads = [f"{ds} {_head(m, db)}" if multi else _head(m, db) for ds, m in table.columns]
    lines = [f"**{table.title}.** {_caption_for(table, 'bold', 'italic')}", "",
             "| Codec | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for row in table.rows:
        cells = []
        for col in table.columns:
            e = table.entry(row, col)
            text = _fmt(table, col[1], e, ci=True)
            text = f"**{text}**" if e.rank == 1 else f"*{text}*" if e.rank == 2 else text
            cells.append(text + _marks(e))
        tags = _tags(table, row)
        label = f"{row.codec} ({', '.join(tags)})" if tags else row.codec
        lines.append(f"| {_md_escape(label)} | " + " | ".join(cells) + " |")
    lines += [""] + [f"- {_md_escape(n)}" for n in table.notes]
    return "\n".join(lines) + "\n"


def _tex_value(table: Table1, metric: str, e: Entry) -> str:
    """``$v$`` with its interval as ``bd.latex_interval`` says: brackets ``$v$ {\\footnotesize [lo, hi]}``,
    pm ``$v \\pm h$`` (``$v^{+a}_{-b}$`` when the percentile interval is not symmetric at 2 decimals)."""
    if e.value is None:
        return "--"
    v, style = e.value, table.settings.latex_interval
    num = lambda x: _num(table, metric, x)  # noqa: E731
    marks = "".join({"†": "\\dagger", "§": "\\S", "‡": "\\ddagger"}[m] for m in _marks(e))
    sup = f"^{{{marks}}}" if marks else ""
    if not e.ci or style == "none":
        return f"${num(v)}{sup}$"
    lo, hi = e.ci
    if style == "brackets":
        return f"${num(v)}{sup}$ {{\\footnotesize $[{num(lo)}, {num(hi)}]$}}"
    up, down = num(hi - v), num(v - lo)
    return f"${num(v)} \\pm {up}{sup}$" if up == down else f"${num(v)}^{{+{up}}}_{{-{down}}}{sup}$"


def to_latex(table: Table1) -> str:
    """A booktabs table; needs ``\\usepackage{booktabs,xcolor}``. Best red, second blue (as the paper)."""
    db = table.settings.ms_ssim_db
    datasets = list(dict.fromkeys(ds for ds, _ in table.columns))
    spans = [sum(1 for d, _ in table.columns if d == ds) for ds in datasets]
    out = [f"% {table.title} generated by rdbench; needs \\usepackage{{booktabs,xcolor}}",
           "\\begin{table}[t]", "\\centering",
           f"\\caption{{{_tex(_caption_for(table, 'red', 'blue'))}}}",
           f"\\label{{tab:bd-{table.kind}}}", "\\begin{tabular}{l" + "r" * len(table.columns) + "}", "\\toprule"]
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
        if source in ("anchor", "measured") and row.source in ("published", "not available"):
            out.append("\\midrule")
        source = row.source
        cells = []
        for col in table.columns:
            e = table.entry(row, col)
            text = _tex_value(table, col[1], e)
            cells.append(f"\\textcolor{{red}}{{{text}}}" if e.rank == 1 else
                         f"\\textcolor{{blue}}{{{text}}}" if e.rank == 2 else text)
        tags = [f"\\textit{{{t}}}" if t == "published" else _tex(t) for t in _tags(table, row)]
        label = _tex(row.codec) + (f" ({', '.join(tags)})" if tags else "")
        out.append(f"{label} & " + " & ".join(cells) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    marked = table.marked()
    if marked:
        out.append("\\par\\footnotesize " + "; ".join(
            _tex(n) for n in table.notes if n[:1] in MARKS) + ".")
    out += ["\\end{table}"]
    return "\n".join(out) + "\n"


def to_html(table: Table1) -> str:
    """An HTML fragment (``<table class="bd">`` and its notes), styled by the report's CSS."""
    db = table.settings.ms_ssim_db
    datasets = list(dict.fromkeys(ds for ds, _ in table.columns))
    esc = html.escape
    caption = esc(_caption_for(table, "bold red", "italic blue"))
    ident = "table1" if table.kind == "rate" else "table1-quality"
    h = [f'<figure class="table"><figcaption><b>{esc(table.title)}.</b> {caption}</figcaption>',
         f'<table class="bd" id="{ident}"><thead>',
         '<tr><th rowspan="2">Codec</th>' + "".join(
             f'<th colspan="{sum(1 for d, _ in table.columns if d == ds)}">{esc(ds)}</th>' for ds in datasets)
         + "</tr>",
         "<tr>" + "".join(f"<th>{esc(_head(m, db))}</th>" for _, m in table.columns) + "</tr></thead><tbody>"]
    for row in table.rows:
        cells = []
        for col in table.columns:
            e = table.entry(row, col)
            n = lambda x: _num(table, col[1], x)  # noqa: E731
            cls = {1: "best", 2: "second"}.get(e.rank, "na" if e.value is None else "")
            tip = e.error or "; ".join(filter(None, [
                f"{100 * table.settings.confidence:g}% CI {n(e.ci[0])} .. {n(e.ci[1])}" if e.ci else "",
                f"overlap {100 * e.overlap:.0f}%" if e.overlap is not None else "",
                f"{e.n_images} images" if e.n_images else "", *(f"{k} {t}" for k, t in e.marks), *e.notes]))
            ci = f'<span class="ci">[{n(e.ci[0])}, {n(e.ci[1])}]</span>' if e.ci else ""
            marks = "".join(f'<sup class="mark" title="{esc(t)}">{k}</sup>' for k, t in e.marks)
            cells.append(f'<td class="{cls}{" marked" if e.marks else ""}" title="{esc(tip)}">'
                         f"{esc(_fmt(table, col[1], e))}{marks}{ci}</td>")
        tags = "".join(f' <span class="tag{" pub" if t == "published" else ""}">{esc(t)}</span>' for t in _tags(table, row))
        h.append(f'<tr class="{" ".join(row.source.split("-"))}"><th>{esc(row.codec)}{tags}</th>{"".join(cells)}</tr>')
    h.append("</tbody></table></figure>")
    h.append('<ul class="notes">' + "".join(
        f"<li{MARK_NOTE if n[:1] in MARKS else ''}>{esc(n)}</li>" for n in table.notes) + "</ul>")
    return "\n".join(h) + "\n"


def paper_table(results_dir: str | Path) -> dict[str, list[list[str]]]:
    """The paper-vs-rdbench table (``tables/paper_vs_rdbench.csv``) as rows of strings, when it exists."""
    from rdbench.report.paper import STEM, TITLE

    path = Path(results_dir) / "tables" / f"{STEM}.csv"
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {TITLE: [r for r in csv.reader(f) if r]}


def complexity_tables(results_dir: str | Path) -> dict[str, list[list[str]]]:
    """Tables II/III as rows of strings (header first), for those of ``complexity/table{2,3}.csv`` that exist,
    then one Table III per further architecture (``complexity/table3-<architecture>.csv``). Table II's
    measured time (ms/MP beside kMAC/px) keeps its columns; the host and run count (the same in every timed
    row) move into the title."""
    out = {}
    folder = Path(results_dir) / "complexity"
    stems = dict(COMPLEXITY)
    stems.update({p.stem: f"Table III ({p.stem[len('table3-'):]})" for p in sorted(folder.glob("table3-*.csv"))})
    for stem, title in stems.items():
        path = folder / f"{stem}.csv"
        if path.is_file():
            with open(path, newline="", encoding="utf-8") as f:
                rows = [r for r in csv.reader(f) if r]
            rows, timed = _timed_on(rows)
            out[title + (f" (measured time: {timed})" if timed else "")] = _readable(rows)
    return out


def _timed_on(rows: list[list[str]]) -> tuple[list[list[str]], str]:
    """Drop the ``timed_on`` / ``time_repeats`` columns; return them as "median of N runs on HOST"."""
    head = rows[0]
    if "timed_on" not in head:
        return rows, ""
    drop = {head.index(k) for k in ("timed_on", "time_repeats") if k in head}
    hosts = sorted({r[head.index("timed_on")] for r in rows[1:] if r[head.index("timed_on")]})
    runs = sorted({r[head.index("time_repeats")] for r in rows[1:] if "time_repeats" in head
                   and r[head.index("time_repeats")]})
    kept = [[c for i, c in enumerate(r) if i not in drop] for r in rows]
    return kept, f"median of {' / '.join(runs) or '?'} runs on {'; '.join(hosts)}"


def _readable(rows: list[list[str]]) -> list[list[str]]:
    """CSV header and numbers as a reader wants them: kMAC/px to 2 decimals, parameters in millions,
    milliseconds per megapixel whole, GMAC/s to 1 decimal."""
    head = rows[0]
    out = [[h.replace("kmac_px", "kMAC/px").replace("gmac_s", "GMAC/s").replace("_", " ") for h in head]]
    for row in rows[1:]:
        cells = []
        for name, cell in zip(head, row):
            try:
                value = float(cell)
            except ValueError:
                cells.append(cell)
                continue
            cells.append(f"{value / 1e6:.3f} M" if name == "params" else f"{value:.2f} M" if name == "paper_params"
                         else cell if name == "instances" else f"{value:.0f}" if "_ms/MP_" in name
                         else f"{value:.1f}" if "_gmac_s_" in name else f"{value:.2f}")
        out.append(cells)
    return out


def rows_to_markdown(title: str, rows: list[list[str]], caption: str = "") -> str:
    head, body = rows[0], rows[1:]
    lines = [f"**{title}.**" + (f" {_md_escape(caption)}" if caption else ""), "",
             "| " + " | ".join(map(_md_escape, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(_md_escape, r)) + " |" for r in body]
    return "\n".join(lines) + "\n"


def rows_to_html(title: str, rows: list[list[str]]) -> str:
    esc = html.escape
    head, body = rows[0], rows[1:]
    return (f'<p class="tcap"><b>{esc(title)}.</b></p><table class="plain"><thead><tr>'
            + "".join(f"<th>{esc(c)}</th>" for c in head) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in body)
            + "</tbody></table>\n")


def write_tables(tables: Table1 | Sequence[Table1], out_dir: str | Path,
                 results_dir: str | Path | None = None, paper=None) -> list[Path]:
    """Write every format of each table (BD-rate as ``table1.*``, BD-quality as ``table1_quality.*``), the
    details of all of them and ``tables.md`` (with Tables II/III when present); returns the paths."""
    from rdbench.report.html import STYLE

    tables = [tables] if isinstance(tables, Table1) else list(tables)
    out_dir = Path(out_dir)
    docs = {"table1_details.csv": to_details_csv(tables)}
    for table in tables:
        stem = STEMS[table.kind]
        docs.update({f"{stem}.csv": to_csv(table), f"{stem}_long.csv": to_long_csv(table),
                     f"{stem}.md": to_markdown(table), f"{stem}.tex": to_latex(table),
                     f"{stem}.json": json.dumps(table.to_json(), indent=1, ensure_ascii=False) + "\n",
                     f"{stem}.html": ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                                      f"{table.title}</title><style>{STYLE}</style></head><body>\n{to_html(table)}"
                                      "</body></html>\n")})
    md = [docs[f"{STEMS[t.kind]}.md"] for t in tables]
    if paper is not None:  # rdbench.report.paper.Paper: the paper's Table I beside the BD-rate table
        from rdbench.report import paper as vs

        rate = next(t for t in tables if t.kind == "rate")
        rows = vs.compare_with_paper(rate, paper)
        docs[f"{vs.STEM}.csv"] = vs.to_csv(rows)
        docs[f"{vs.STEM}.md"] = rows_to_markdown(vs.TITLE, rows, vs.caption(rate, paper))
        md.append(docs[f"{vs.STEM}.md"])
    for title, rows in complexity_tables(results_dir or out_dir.parent).items():
        md.append(rows_to_markdown(title, rows))
    docs["tables.md"] = "\n".join(md)
    paths = []
    for name, text in docs.items():
        atomic_write_text(out_dir / name, text)
        paths.append(out_dir / name)
    return paths


def _cell(x) -> str:
    """A details CSV cell: numbers to 6 significant digits, text as is, None blank."""
    if x is None:
        return ""
    return f"{x:.6g}" if isinstance(x, (int, float)) else str(x)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


_TEX = {"†": "\\textdagger{}", "§": "\\S{}", "‡": "\\textdaggerdbl{}", "\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "#": "\\#", "_": "\\_", "$": "\\$", "{": "\\{",
        "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}"}


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(text))
