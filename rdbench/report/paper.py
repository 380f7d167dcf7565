"""The paper's Table I beside rdbench's: "paper vs rdbench" (``tables/paper_vs_rdbench.{csv,md}``, in the report).

The paper's numbers are data (``rdbench/data/<paper>_table1.yaml``, typed in once with their source); rdbench's
are the cells of the Table I it computed (from published curves or measurements, against the same column's
anchor). Each line has both, the difference (rdbench - paper) and what rdbench's value rests on; a paper cell
that is not available says so, and a paper number never fills an rdbench column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from typing import Any

from rdbench.bd import BDError, quality_label
from rdbench.report.table1 import Table1

STEM = "paper_vs_rdbench"
TITLE = "Paper vs rdbench (Table I)"
HEAD = ["paper row", "dataset", "metric", "paper", "rdbench", "rdbench (cubic)", "cubic - paper", "rdbench row",
        "anchor", "note"]


@dataclass(frozen=True)
class Paper:
    name: str
    source: str
    quantity: str
    rows: list[str]
    rdbench: dict[str, str]
    datasets: list[str]
    metrics: list[str]
    values: dict[tuple[str, str, str], float]
    unavailable: str
    no_public_curve: dict[str, str]


def load_paper(name: str) -> Paper:
    """``rdbench/data/<name>_table1.yaml``; an unknown name is a clear error naming the known ones."""
    import yaml

    folder = resources.files("rdbench") / "data"
    known = sorted(p.name.removesuffix("_table1.yaml") for p in folder.iterdir() if p.name.endswith("_table1.yaml"))
    path = folder / f"{name}_table1.yaml"
    if not path.is_file():
        raise BDError(f"table1 paper: no data for {name!r} (rdbench/data/{name}_table1.yaml); known: {known}")
    d: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    values = {(v["row"], v["dataset"], v["metric"]): float(v["value"]) for v in d["values"]}
    return Paper(d["paper"], d["source"], d["quantity"], list(d["rows"]), dict(d.get("rdbench") or {}),
                 list(d["datasets"]), list(d["metrics"]), values, " ".join(str(d["unavailable"]).split()),
                 dict(d.get("no_public_curve") or {}))


def compare_with_paper(table: Table1, paper: Paper) -> list[list[str]]:
    """Rows (header first): every (paper row, dataset, metric) of the paper's layout where the paper or rdbench
    has a value."""
    out = [HEAD]
    rows = {r.codec: r for r in table.rows if r.source != "not available"}
    for name in paper.rows:
        row = rows.get(paper.rdbench.get(name, name))
        for ds in paper.datasets:
            for metric in paper.metrics:
                value = paper.values.get((name, ds, metric))
                entry = table.entry(row, (ds, metric)) if row and (ds, metric) in table.columns else None
                ours = entry.value if entry else None
                if value is None and ours is None:
                    continue
                cubic = entry.alternatives.get("cubic/mean-curve") if entry else None
                if table.settings.method == "cubic":
                    cubic = ours
                note = []
                if value is None:
                    note.append(f"paper: not available ({paper.unavailable})")
                if ours is None:
                    note.append("rdbench: " + (entry.error if entry and entry.error else
                                               paper.no_public_curve.get(name) or "no rdbench row of this name"))
                elif row.source.startswith("published"):
                    note.append("rdbench: from published curves (not measured here)")
                out.append([name, ds, quality_label(metric, unit=False), _num(value), _num(ours), _num(cubic),
                            _num(None if value is None or not isinstance(cubic, float) else cubic - value),
                            row.label if row else "", table.column_anchors.get(f"{ds}/{metric}", table.anchor),
                            "; ".join(note)])
    return out


def caption(table: Table1, paper: Paper) -> str:
    return (f"Paper vs rdbench: {paper.quantity} as printed in {paper.source}, beside rdbench's Table I "
            f"({table.settings.method}; 'rdbench (cubic)' is VCEG-M33 as the paper cites, its difference from the "
            "paper in 'cubic - paper'). rdbench's values are its own computation from published curves or "
            "measurements, never the paper's numbers.")


def to_csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _num(v) -> str:
    return "" if not isinstance(v, (int, float)) else f"{v:+.2f}"
