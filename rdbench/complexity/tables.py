"""Tables II and III of the complexity counts (and Table II's measured time, rdbench.timing) as CSV,
Markdown and LaTeX."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rdbench.complexity.architectures import (PAPER_SOURCE, PAPER_TABLE2_NOTE, PAPER_TABLE3, PAPER_TABLE3_LOCLIC,
                                              PAPER_TABLE3_LOCLIC_NOTE, PAPER_TABLE3_NOTE)
from rdbench.complexity.counting import COUNTER_NOTE, COUNTERS, DECODER_PARTS, ENCODER_PARTS, Complexity

if TYPE_CHECKING:
    from rdbench.timing import Timings


@dataclass(frozen=True)
class Column:
    """A table column: CSV header ``key``, display ``label``; numbers shown with ``digits`` after ``scale``."""

    key: str
    label: str
    digits: int | None = None  # None: text
    scale: float = 1.0
    shown: bool = True  # False: CSV only (a value the same in every row, which the notes state)


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[dict]
    notes: list[str]


def _kmac_columns(prefix: str, label: str, counters: tuple[str, ...]) -> list[Column]:
    return [Column(f"{prefix}kmac_px_{c}", f"{label}kMAC/px ({c})", 2) for c in counters]


def _notes(results: list[Complexity], counters: tuple[str, ...], paper_note: str) -> list[str]:
    r = results[0]
    notes = [f"Measured here at {r.width}x{r.height} (kMAC/px = MACs / (H*W) / 1000), one forward pass, batch 1; "
             f"counters: {', '.join(counters)}. {COUNTER_NOTE} ptflops and fvcore also count transposed "
             "convolutions at their input positions.",
             f"Paper columns: {PAPER_SOURCE}. {paper_note}"]
    notes += list(dict.fromkeys(r.architecture.note for r in results if r.architecture.note))
    notes += [f"Count failed ({res.architecture.name} {key}): {msg}" for res in results for key, msg in res.errors.items()]
    return notes


def table2(results: list[Complexity], counters: tuple[str, ...] = COUNTERS, timings: Timings | None = None) -> Table:
    """Paper Table II: encoder and decoder kMAC/px of every architecture counted, and with ``timings``
    (rdbench.timing) the measured encode / decode ms per megapixel beside each, with the GMAC/s they imply."""
    ref = counters[0]
    columns = [Column("architecture", "architecture"), Column("configuration", "configuration"),
               Column("params", "params (M)", 3, 1e-6)]
    threads = timings.thread_counts() if timings else ()
    for part, verb in (("encoder", "encode"), ("decoder", "decode")):
        columns.append(Column(f"{part}_kmac_px_{ref}", f"{part} kMAC/px ({ref})", 2))
        columns += [Column(_time_key(verb, t), f"{verb} ms/MP ({_threads(t)})", 0) for t in threads]
    if timings:  # MACs per second: where it differs between rows, MACs do not predict seconds
        first = threads[0]
        columns += [Column(f"{verb}_gmac_s_{_threads(first, '_')}", f"{verb} GMAC/s ({ref}, {_threads(first)})", 1)
                    for verb in ("encode", "decode")]
    for c in counters[1:]:
        columns += [Column(f"encoder_kmac_px_{c}", f"encoder kMAC/px ({c})", 2),
                    Column(f"decoder_kmac_px_{c}", f"decoder kMAC/px ({c})", 2)]
    columns += [Column(f"forward_kmac_px_{ref}", f"forward kMAC/px ({ref})", 2),
                Column("paper_encoder_kmac_px", "paper encoder kMAC/px", 2),
                Column("paper_decoder_kmac_px", "paper decoder kMAC/px", 2),
                Column("paper_forward_kmac_px", "paper forward kMAC/px", 2)]
    if timings:
        columns += [Column("timed_on", "timed on", shown=False), Column("time_repeats", "timed runs", 0, shown=False)]
    rows = []
    for r in results:
        row = {"architecture": r.architecture.label or r.architecture.name, "configuration": r.config,
               "params": r.total_params}
        for c in counters:
            row[f"encoder_kmac_px_{c}"], row[f"decoder_kmac_px_{c}"] = r.encoder(c), r.decoder(c)
        row[f"forward_kmac_px_{ref}"] = r.forward(ref)
        paper = r.architecture.paper if r.is_default else {}
        for part in ("encoder", "decoder", "forward"):
            row[f"paper_{part}_kmac_px"] = paper.get(part)
        measured = timings.times.get(r.architecture.name, {}) if timings and r.is_default else {}
        for t in threads:
            for part, verb in (("encoder", "encode"), ("decoder", "decode")):
                ms = measured[t].ms_per_mpx(verb) if t in measured else None
                row[_time_key(verb, t)] = ms
                kmac = row[f"{part}_kmac_px_{ref}"]
                if t == threads[0]:
                    row[f"{verb}_gmac_s_{_threads(t, '_')}"] = None if ms is None or kmac is None else kmac / ms * 1e3
        if measured:
            row["timed_on"], row["time_repeats"] = timings.host.describe(), timings.repeats
        rows.append(row)
    notes = _notes(results, counters, PAPER_TABLE2_NOTE)
    if timings:
        notes.append(timings.note(ref))
        untimed = [r.architecture.label or r.architecture.name for r in results if r.architecture.name not in timings.times]
        if untimed:
            notes.append(f"Not timed here: {', '.join(untimed)} (they code through their own file format, not "
                         "model.compress; the runtime table of a benchmark run gives their encode and decode seconds).")
    return Table("Table II: encoder and decoder complexity of learned codecs", columns, rows, notes)


def _threads(n: int, sep: str = " ") -> str:
    return f"{n}{sep}thread" + ("s" if n != 1 else "")


def _time_key(verb: str, threads: int) -> str:
    """CSV key of a time column, e.g. ``decode_ms/MP_1_thread``."""
    return f"{verb}_ms/MP_{_threads(threads, '_')}"


def table3(result: Complexity, counters: tuple[str, ...] = COUNTERS) -> Table:
    """Paper Table III: kMAC/px and parameters of each module of one architecture (TreeNet in the paper)."""
    columns = [Column("module", "module"), Column("instances", "instances", 0),
               *_kmac_columns("", "", counters[:1]), Column("params", "params (M)", 3, 1e-6),
               *_kmac_columns("", "", counters[1:]),
               Column("paper_kmac_px", "paper kMAC/px", 2), Column("paper_params", "paper params (M)", 2)]
    paper = {"treenet": PAPER_TABLE3, "loclic": PAPER_TABLE3_LOCLIC}.get(result.architecture.name, {}) \
        if result.is_default else {}
    rows = []
    for name, m in result.modules.items():
        row = {"module": name, "instances": m.instances, "params": m.params}
        row.update({f"kmac_px_{c}": result.kmac_per_px(name, c) for c in counters})
        rows.append(row)
    rows.append({"module": "entropy models", "instances": None,
                 "params": result.total_params - sum(m.params for m in result.modules.values())})
    for name, parts in (("encoder", ENCODER_PARTS), ("decoder", DECODER_PARTS), ("forward", tuple(result.modules))):
        rows.append({"module": name, **{f"kmac_px_{c}": result.kmac_per_px(parts, c) for c in counters}})
    rows.append({"module": "total", "params": result.total_params})
    for row in rows:
        kmac, params = paper.get(row["module"], (None, None))
        row["paper_kmac_px"], row["paper_params"] = kmac, params
    title = f"Table III: complexity per module of {result.config}"
    paper_note, per = {"loclic": (PAPER_TABLE3_LOCLIC_NOTE, "slice")}.get(result.architecture.name,
                                                                        (PAPER_TABLE3_NOTE, "latent"))
    notes = _notes([result], counters, paper_note) + [
        f"Modules with several instances (one per {per}) are summed over them. 'entropy models' are the "
        "EntropyBottleneck / GaussianConditional parameters (tables at coding time, no MACs counted)."]
    return Table(title, columns, rows, notes)


def _cell(col: Column, value, text: bool) -> str:
    if value is None or value == "":
        return ""
    if col.digits is None:
        return str(value)
    if not text:  # CSV keeps the raw value (params as an integer count), floats to 6 decimals
        return str(value) if isinstance(value, int) else f"{value:.6f}"
    return f"{value * col.scale:.{col.digits}f}"


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell(c, row.get(c.key), text=False) for c in table.columns])
    return buf.getvalue()


def to_markdown(table: Table) -> str:
    shown = [c for c in table.columns if c.shown]
    lines = [f"**{table.title}**", "", "| " + " | ".join(c.label for c in shown) + " |",
             "|" + "|".join("---" if c.digits is None else "---:" for c in shown) + "|"]
    for row in table.rows:
        lines.append("| " + " | ".join(_cell(c, row.get(c.key), text=True) for c in shown) + " |")
    return "\n".join(lines + [""] + [f"{note}\n" for note in table.notes])


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(a, b)
    return text


def to_latex(table: Table) -> str:
    """A booktabs ``table`` environment; the notes become the caption's second sentence onwards."""
    shown = [c for c in table.columns if c.shown]
    spec = "".join("l" if c.digits is None else "r" for c in shown)
    body = [" & ".join(_tex(c.label) for c in shown) + r" \\", r"\midrule"]
    for row in table.rows:
        body.append(" & ".join(_tex(_cell(c, row.get(c.key), text=True)) for c in shown) + r" \\")
    caption = _tex(table.title + ". " + " ".join(table.notes))
    return "\n".join([r"% written by rdbench.complexity.tables; needs \usepackage{booktabs}", r"\begin{table}[t]",
                      r"\centering", r"\scriptsize", rf"\caption{{{caption}}}", rf"\begin{{tabular}}{{{spec}}}",
                      r"\toprule", *body, r"\bottomrule", r"\end{tabular}", r"\end{table}", ""])


def write_table(table: Table, stem: str | Path) -> list[Path]:
    """Write ``stem``.csv, .md and .tex atomically; returns the three paths."""
    from rdbench.atomic import write_text as atomic_write_text

    stem = Path(stem)
    paths = []
    for suffix, render in ((".csv", to_csv), (".md", to_markdown), (".tex", to_latex)):
        path = stem.with_suffix(suffix)
        atomic_write_text(path, render(table))
        paths.append(path)
    return paths
