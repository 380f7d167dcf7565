"""`rdbench metric`: one metric on one image pair, or the list of metrics."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "compute one quality metric for a reference/distorted image pair, or list the metrics"
EPILOG = """examples:
  rdbench metric --list
  rdbench metric psnr-rgb kodim01.png kodim01.jpeg.png
  rdbench metric lpips ref.png rec.png --variant alex
  rdbench metric dists ref.png rec.png --json

Both images are read with rdbench's input rules (8-bit RGB; conversions are reported on stderr).
LPIPS and DISTS need their weights: `rdbench weights install` once.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="metric name (see --list), or NAME:VARIANT")
    parser.add_argument("reference", nargs="?", help="reference image (PNG, ...)")
    parser.add_argument("distorted", nargs="?", help="distorted / reconstructed image, same size")
    parser.add_argument("--variant", help="metric variant (e.g. lpips: vgg | alex; dists: official | piq)")
    parser.add_argument("--list", action="store_true", help="list the metrics, their direction and variants")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of the bare value")


def run(args: argparse.Namespace) -> int:
    from rdbench.metrics import metrics, resolve

    if args.list:
        return _list(metrics)
    if not (args.name and args.reference and args.distorted):
        raise ValueError("give NAME REFERENCE DISTORTED (or --list); e.g. `rdbench metric psnr-rgb ref.png rec.png`")
    from rdbench.images import load_rgb8

    m = resolve(args.name)
    if args.variant is not None:
        _, _, named = args.name.partition(":")
        if named and named != args.variant:
            raise ValueError(f"{args.name!r} names variant {named!r} and --variant says {args.variant!r}; "
                             "give one of them")
        m = m.with_variant(args.variant)
    images = []
    for label, path in (("reference", args.reference), ("distorted", args.distorted)):
        rgb, notes = load_rgb8(path)
        for note in notes:
            print(f"{label} {path}: {note}", file=sys.stderr)
        images.append(rgb)
    value = m(images[0], images[1])
    if args.json:
        print(json.dumps({"metric": m.name, "variant": m.default_variant, "value": value,
                          "unit": m.unit, "higher_is_better": m.higher_is_better,
                          "reference": args.reference, "distorted": args.distorted}))
    else:
        print(f"{value:.6f}")
    return 0


def _list(metrics) -> int:
    rows = [("metric", "better", "unit", "variants (default first)", "from")]
    for name in metrics.names():
        m = metrics.get(name)
        variants = [m.default_variant] + [v for v in m.variants if v != m.default_variant] if m.variants else []
        rows.append((name, "higher" if m.higher_is_better else "lower (BD uses 1 - value)", m.unit or "-",
                     ", ".join(variants) or "-", metrics.origin(name)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0
