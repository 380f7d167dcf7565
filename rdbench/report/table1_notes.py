"""The caption and notes of Table I: settings, conventions against the paper, anchors, undefined and marked cells."""

from __future__ import annotations

from typing import Any, Mapping

from rdbench.bd import quality_label
from rdbench.report.table1 import AVERAGING_MARK, HEVC444_NOTE, METHOD_MARK, SMALL_OVERLAP, Table1


def caption(table: Table1, availability: Mapping[str, Any] | None, missing: Mapping[str, str] | None = None,
            anchor_curves: Mapping[str, Any] | None = None) -> tuple[str, list[str]]:
    """The caption (``{marks}`` filled per format) and the notes under the table."""
    s = table.settings
    anchored = sorted({a for a in table.column_anchors.values() if a.endswith("(published)")})
    against = (f"each column's anchor ({' / '.join(anchored)} where it has the metric, else {table.anchor}; "
               "the notes say which)" if anchored else table.anchor)
    what = (f"BD-rate (%) against {against} (negative: fewer bits than the anchor for the same quality)"
            if table.kind == "rate" else
            f"BD-quality against {against}, in the units of each column's BD axis (dB for PSNR and "
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
    notes += _anchor_notes(table, availability, missing or {}, anchor_curves or {})
    for (codec, source, ds, metric), e in table.entries.items():
        if source == "not available" or (e.error or "").startswith("not measured on "):
            continue  # said once per row / per dataset above
        if e.error and source == "anchor" and table.column_anchors.get(f"{ds}/{metric}", codec) == codec:
            notes.append(f"{ds}, {metric}: the column is n/a: {e.error}")
        elif e.error:
            notes.append(f"{codec} ({source}), {ds}, {metric}: n/a: {e.error}")
        if e.marks:
            notes.append(f"{''.join(k for k, _ in e.marks)} {codec}{' (published)' if source.startswith('published') else ''}"
                         f", {ds}, {quality_label(metric, ms_ssim_db=s.ms_ssim_db, unit=False)}: "
                         + "; ".join(f"{k} {t}" if len(e.marks) > 1 else t for k, t in e.marks))
    return caption, notes


def _anchor_notes(table: Table1, availability, missing: Mapping[str, str], anchor_curves: Mapping[str, Any]) -> list[str]:
    """Which anchor each dataset's columns have, how far the measured stand-in is from a published anchor,
    why a dataset has no measured rows and why a paper row has no curve."""
    notes = []
    skipped = (availability or {}).get("skipped", {})
    why = f" BPG was not run here: {str(skipped['bpg']).rstrip('. ')}." if "bpg" in skipped else ""
    stand_in = f" {HEVC444_NOTE}." if table.anchor == "hevc444" else ""
    published = {ds: c for ds, c in anchor_curves.items() if c is not None}
    bpg_asked = "bpg" in skipped or "bpg" in (availability or {}).get("available", {})
    if not published and table.anchor != "bpg" and (bpg_asked or table.anchor == "hevc444"):  # BPG or its stand-in
        notes.append(f"The paper's anchor is BPG; this table's anchor is {table.anchor}.{why}{stand_in}")
    for ds, curve in published.items():
        own = [m for d, m in table.columns
               if d == ds and table.column_anchors.get(f"{d}/{m}") == f"{curve.label} (published)"]
        other = [m for m in dict.fromkeys(m for d, m in table.columns if d == ds) if m not in own]
        text = (f"{ds}: anchor {curve.label} (published: {curve.source}; {curve.description})"
                f" for {', '.join(quality_label(m, unit=False) for m in own)}")
        if other:
            text += (f"; it has no {', '.join(quality_label(m, unit=False) for m in other)}, so "
                     + (f"those columns are anchored on the measured {table.anchor}" if ds not in missing
                        else "those columns have no anchor"))
        notes.append(text + ".")
        stand = [(m, table.entries.get((table.anchor, "anchor", ds, m))) for m in own]
        values = [f"{quality_label(m, unit=False)} {e.value:+.2f} %" for m, e in stand if e and e.value is not None]
        if table.kind == "rate" and values:
            notes.append(f"{ds}: the measured {table.anchor} is {', '.join(values)} BD-rate from {curve.label}'s "
                         f"published curve (its row).{why}{stand_in}")
    for ds, reason in missing.items():
        notes.append(f"{ds}: no measured rows: {reason}")
    for row in table.rows:
        if row.source == "not available":
            first = next((table.entry(row, c).error for c in table.columns), "")
            notes.append(f"{row.codec}: {first}")
    return notes
