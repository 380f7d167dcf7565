"""The HTML report: one static file that opens from disk with no server and no network.

Sections: Table I (BD-rate vs the anchor) and its BD-quality twin, with their marks, Tables II/III
(complexity, only when their CSVs exist), the runtime table (encode/decode seconds per image,
:mod:`rdbench.report.runtime`), the RD plots (SVG embedded as data URIs, so each figure keeps its own
ids and the file stands alone), a collapsible per-image part (per-image BD-rates and the measurements of ``rd.csv``) and the manifest of
every result cell (``{results}/cells/<dataset>/<codec>/<point>.json``: codec description, options,
versions, host) found from the rows of ``rd.csv``. No JavaScript: collapsing is ``<details>``.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from rdbench.atomic import write_text as atomic_write_text
from rdbench.bd import BDError, quality_label
from rdbench.report.compare import BDSettings, paired, per_image
from rdbench.report.runtime import html_rows, runtime_rows
from rdbench.report.tables import Table1, complexity_tables, paper_table, rows_to_html, to_html
from rdbench.results import RD_COLUMNS, read_json

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1200px;
 padding:0 16px;color:#1b1b1b;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:16px;margin:18px 0 6px}.meta{color:#555;font-size:13px}
table{border-collapse:collapse;margin:8px 0 12px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f4f6}
tbody th,thead th[rowspan]{text-align:left;font-weight:600}
caption{caption-side:top;text-align:left;padding:4px 0;max-width:1100px}
td.best{font-weight:700;color:#c00000}td.second{font-style:italic;color:#1f4fbf}td.na{color:#999}
tr.anchor th,tr.anchor td{background:#f7f7f7}tr.published th,tr.published td{color:#555;background:#fcfcf4}
.tag{font-size:11px;font-weight:400;border:1px solid #999;border-radius:3px;padding:0 3px;margin-left:4px}
.tag.pub{border-color:#b59b00;color:#7a6900}.ci{display:block;font-size:11px;color:#666}
figure.table{margin:8px 0}figure.table figcaption{max-width:1100px;padding:4px 0}
ul.notes{font-size:12px;color:#444;max-width:1100px}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:12px}
.plots figure{margin:0;border:1px solid #e3e3e3;padding:6px}.plots img{width:100%;height:auto}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}pre{background:#f6f8fa;padding:8px;overflow:auto;
 font-size:12px}table.plain td:first-child,table.meas td:nth-child(-n+3){text-align:left}
p.tcap{margin:10px 0 0;max-width:1100px}tr.mean td{border-top:2px solid #999;font-weight:600}
td.marked{background:#fff4d6}sup.mark{color:#a15c00;font-weight:700;margin-left:1px;cursor:help}
li.mark-note{color:#7a4500}
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ title }}</title><style>{{ style }}</style></head>
<body>
<h1>{{ title }}</h1>
<p class="meta">Generated {{ generated }} by rdbench {{ version }}{% if git %} (commit {{ git.commit[:12] }}{%
 if git.dirty %}, uncommitted changes{% endif %}){% endif %}. Anchor: <b>{{ anchor }}</b>.
BD {{ settings }}.</p>

<h2 id="table-1">Table I: BD-rate against {{ table1_anchor }}</h2>
{{ table1 | safe }}
{% for t in paper %}<h2 id="paper-vs-rdbench">The paper's Table I beside rdbench's</h2>
{{ t | safe }}{% endfor %}
{% if table1_quality %}<h2 id="table-1-quality">Table I (BD-quality) against {{ table1_anchor }}</h2>
{{ table1_quality | safe }}{% endif %}

{% if complexity %}<h2 id="complexity">Complexity</h2>
{% for t in complexity %}{{ t | safe }}{% endfor %}{% endif %}

<h2 id="rd-curves">RD curves</h2>
{% for ds in datasets %}<h3>{{ ds.name }}</h3>
<div class="plots">{% for p in ds.plots %}<figure><img alt="RD curve {{ ds.name }} {{ p.metric }}"
 src="data:image/svg+xml;base64,{{ p.data }}"><figcaption class="meta">{{ p.caption }}</figcaption></figure>
{% else %}<p class="meta">No plots found in {{ plots_dir }}.</p>{% endfor %}</div>
{% endfor %}

{% if runtime %}<h2 id="runtime">Runtime</h2>
<p class="meta">Wall-clock seconds per image on the machine of the run (one process; its host is in each cell's
manifest), median and interquartile range over the images.</p>
{{ runtime | safe }}{% endif %}

{% if figures %}<h2 id="learned">Learned codecs: training progress and latent ablations</h2>
<div class="plots">{% for f in figures %}<figure><img alt="{{ f.caption }}" style="max-width:100%"
 src="data:image/png;base64,{{ f.data }}"><figcaption class="meta">{{ f.caption }}</figcaption></figure>
{% endfor %}</div>{% endif %}

<h2 id="per-image">Per image</h2>
{% for ds in datasets %}<details><summary>{{ ds.name }}: per-image BD-rate against {{ anchor }}
({{ ds.n_images }} images)</summary>
{% for t in ds.per_image %}{{ t | safe }}{% endfor %}</details>
<details><summary>{{ ds.name }}: measurements ({{ ds.rows | length }} rows of rd.csv)</summary>
<table class="plain meas"><thead><tr>{% for c in ds.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for r in ds.rows %}<tr>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></details>
{% endfor %}

<h2 id="manifest">Manifest of the result cells</h2>
<p class="meta">One entry per (dataset, codec, rate point): what was measured, with which versions and settings.</p>
{% for ds in datasets %}<details><summary>{{ ds.name }}: {{ ds.cells | length }} cells</summary>
<table class="plain"><thead><tr><th>codec</th><th>point</th><th>images</th><th>date</th><th>rdbench</th>
<th>codec description</th></tr></thead><tbody>
{% for c in ds.cells %}<tr><td>{{ c.codec }}</td><td>{{ c.point }}</td><td>{{ c.images }}</td><td>{{ c.date }}</td>
<td>{{ c.rdbench }}</td><td style="text-align:left"><details><summary>{{ c.summary }}</summary>
<pre>{{ c.json }}</pre></details></td></tr>
{% endfor %}</tbody></table></details>
{% endfor %}
</body></html>
"""


def write_report(out_html: str | Path, *, table1: Table1 | str | Path, rd_csvs: Mapping[str, str | Path],
                 results_dir: str | Path, plots_dir: str | Path | None = None, metrics: Sequence[str] | None = None,
                 table1_quality: Table1 | str | Path | None = None,
                 title: str = "rdbench: rate-distortion report") -> Path:
    """Render the report into ``out_html`` (atomically) and return its path.

    ``table1``: the Table I object or its ``table1.json``; ``table1_quality``: the BD-quality table or
    its ``table1_quality.json`` (None: left out); ``rd_csvs``: dataset -> ``rd.csv``;
    ``plots_dir``: where ``<dataset>/<metric>.svg`` live (default ``{results_dir}/plots``);
    ``metrics``: the per-image and plot order (default: Table I's metrics).
    """
    import jinja2

    from rdbench import __version__
    from rdbench.provenance import git_state
    from rdbench.results import read_rd_csv

    if not isinstance(table1, Table1):
        table1 = Table1.from_json(read_json(table1))
    if table1_quality is not None and not isinstance(table1_quality, Table1):
        table1_quality = Table1.from_json(read_json(table1_quality))
    results_dir = Path(results_dir)
    plots_dir = Path(plots_dir) if plots_dir else results_dir / "plots"
    metrics = list(metrics or dict.fromkeys(m for _, m in table1.columns))
    datasets = []
    for name, path in rd_csvs.items():
        df = read_rd_csv(path)
        datasets.append(_dataset_section(name, df, metrics, table1, results_dir, plots_dir))
    published = sorted({a for a in table1.column_anchors.values() if a.endswith("(published)")})
    table1_anchor = (f"{' / '.join(published)} (else {table1.anchor}, see the notes)" if published else table1.anchor)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    text = env.from_string(TEMPLATE).render(
        title=title, style=STYLE, generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__, git=git_state() or None, anchor=table1.anchor, table1_anchor=table1_anchor,
        settings=table1.settings.describe(), table1=to_html(table1),
        table1_quality=to_html(table1_quality) if table1_quality else "",
        paper=[rows_to_html(t, r) for t, r in paper_table(results_dir).items()],
        complexity=[rows_to_html(t, r) for t, r in complexity_tables(results_dir).items()],
        runtime=rows_to_html("Encode and decode time", html_rows(runtime_rows(rd_csvs))),
        datasets=datasets, plots_dir=str(plots_dir), results=str(results_dir), figures=_figures(results_dir))
    atomic_write_text(out_html, text)
    return Path(out_html)


def _figures(results_dir: Path) -> list[dict[str, str]]:
    """PNG figures of learned codecs, when present: ``<codec>/progress.png`` (rdbench progress) and the
    ablation contact sheets ``ablations/<codec>/<point>/*_contact.png`` (rdbench ablate, Fig. 7-8)."""
    found = [(p, f"{p.parent.name}: training progress (rdbench progress)") for p in
             sorted(results_dir.glob("*/progress.png"))]
    found += [(p, f"{p.parents[1].name} point {p.parent.name}: selective / accumulative propagation and bits per "
                  f"latent of {p.name.removesuffix('_contact.png')} (rdbench ablate)")
              for p in sorted(results_dir.glob("ablations/*/*/*_contact.png"))]
    return [{"caption": caption, "data": base64.b64encode(p.read_bytes()).decode("ascii")} for p, caption in found]


def _dataset_section(name: str, df, metrics: Sequence[str], table1: Table1, results_dir: Path,
                     plots_dir: Path) -> dict[str, Any]:
    settings = table1.settings
    plots = []
    for metric in metrics:
        svg = plots_dir / name / f"{metric}.svg"
        if svg.is_file():
            plots.append({"metric": metric, "data": base64.b64encode(svg.read_bytes()).decode("ascii"),
                          "caption": f"{quality_label(metric, ms_ssim_db=settings.ms_ssim_db, transform='identity')}"
                                     f" vs bpp, mean per rate point"})
    metric_cols = [c for c in df.columns if c not in RD_COLUMNS]
    columns = ["codec", "point", "image", "bpp", *metric_cols, "encode_s", "decode_s"]
    order = df.groupby(["codec", "point"])["bpp"].transform("mean")  # rate points in order of rising rate
    df = df.assign(_rate=order).sort_values(["codec", "_rate", "image"])
    rows = [[_cell(v) for v in r] for r in df[columns].itertuples(index=False)]
    return {"name": name, "plots": plots, "columns": columns, "rows": rows,
            "n_images": int(df["image"].nunique()),
            "per_image": [_per_image_table(df, name, m, table1.anchor, settings) for m in metrics if m in df.columns],
            "cells": _cells(df, name, results_dir)}


def _per_image_table(df, dataset: str, metric: str, anchor: str, settings: BDSettings) -> str:
    """Rows = images, columns = codecs: each image's own BD-rate against the anchor (n/a with reason)."""
    import html

    codecs = [c for c in sorted(df["codec"].astype(str).unique()) if c != anchor]
    results: dict[str, dict[str, Any]] = {}
    for codec in codecs:
        try:
            a, t, _, _ = paired(df, anchor, codec, metric)
            results[codec] = per_image(a, t, metric, settings, strict=False)
        except BDError as exc:
            results[codec] = {"*": exc}
    images = sorted(df["image"].astype(str).unique())
    label = quality_label(metric, ms_ssim_db=settings.ms_ssim_db, unit=False)
    out = [f'<p class="tcap"><b>{html.escape(dataset)}, {html.escape(label)}</b>: per-image BD-rate (%) against '
           f"{html.escape(anchor)}, method {settings.method}; the last row is their mean (averaging per-image)</p>"
           '<table class="plain"><thead><tr><th>image</th>'
           + "".join(f"<th>{html.escape(c)}</th>" for c in codecs) + "</tr></thead><tbody>"]
    for image in images:
        cells = []
        for codec in codecs:
            r = results[codec].get(image, results[codec].get("*"))
            if r is None or isinstance(r, Exception):
                why = str(r) if r is not None else "image not measured at every point of both codecs"
                cells.append(f'<td class="na" title="{html.escape(why)}">n/a</td>')
            else:
                cells.append(f'<td title="overlap {100 * r.overlap:.0f}%">{r.value:.2f}</td>')
        out.append(f"<tr><td>{html.escape(image)}</td>{''.join(cells)}</tr>")
    means = []
    for codec in codecs:
        values = [r.value for r in results[codec].values() if not isinstance(r, Exception)]
        complete = len(values) == len(images)
        means.append(f"<td>{np.mean(values):.2f}</td>" if complete else '<td class="na">n/a</td>')
    out.append(f'<tr class="mean"><td>mean</td>{"".join(means)}</tr></tbody></table>')
    return "\n".join(out)


def _cells(df, dataset: str, results_dir: Path) -> list[dict[str, Any]]:
    """Manifest rows of the cells behind ``rd.csv`` (their paths follow from its dataset/codec/point)."""
    out = []
    for (codec, point), rows in df.groupby(["codec", "point"], sort=True):
        path = results_dir / "cells" / dataset / str(codec) / f"{point}.json"
        entry = {"codec": codec, "point": point, "images": len(rows), "date": "", "rdbench": ""}
        if not path.is_file():
            entry.update(summary=f"cell JSON not found: {path}", json="")
        else:
            cell = read_json(path)
            manifest = cell.get("manifest", {})
            codec_desc = manifest.get("codec", {})
            entry.update(date=manifest.get("date", ""), rdbench=manifest.get("rdbench", ""),
                         summary=_summary(codec_desc) or path.name,
                         json=json.dumps({"manifest": manifest, "metrics": cell.get("metrics", {})}, indent=1,
                                         sort_keys=True, default=str))
        out.append(entry)
    return out


def _summary(desc: Any) -> str:
    if not isinstance(desc, dict):
        return str(desc)[:160]
    keys = [k for k in ("name", "library", "version", "encoder", "command", "colour", "color") if k in desc]
    return ", ".join(f"{k}: {desc[k]}" for k in keys)[:200] or json.dumps(desc, default=str)[:160]


def _cell(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:.4f}"
    return str(v)
