"""`rdbench complexity MODEL`: kMAC/pixel and parameters per module (paper Tables II and III)."""

from __future__ import annotations

import argparse

HELP = "kMAC/pixel and parameters per module of a learned codec (torchinfo, cross-checked); Tables II-III"
EPILOG = """\
examples:
  rdbench complexity treenet                          # per-module table on stdout (768x512)
  rdbench complexity treenet --out results/complexity # + table2.{csv,md,tex} (all architectures)
                                                      #   and table3.{csv,md,tex} (TreeNet per module)
  rdbench complexity treenet loclic --out results/complexity  # + table3-loclic.{csv,md,tex}
  rdbench complexity loclic -o lrp=mlicpp-2024-03 --height 256 --width 256
  rdbench complexity treenet -o gs_layout=pyramid321 --counters torchinfo
  rdbench complexity bmshj2018-factorized --height 256 --width 256
  rdbench complexity treenet --out results/complexity --time --repeats 5
                                                      # + measured encode/decode ms per megapixel beside
                                                      #   kMAC/px in Table II, at 1 thread and the
                                                      #   machine's threads, median of 5

Counts are torchinfo's (the paper's counter: biases count, GDN 0, masked convolutions in full);
ptflops and fvcore columns are cross-checks that disagree by design. Table II always lists every
known architecture at its default configuration; -o options apply to MODEL only (give one). With
several MODELs the first one's per-module table is table3.*, the others' table3-<MODEL>.*.
--time codes one noise image of --height x --width with random-init weights: representative for the
transforms, not for the entropy coder (see rdbench.timing). The CPU model, torch version and load go
in the notes and the CSV (timed_on). Compare times only within one run (one machine, one load).
"""


def configure(parser: argparse.ArgumentParser) -> None:
    from rdbench.complexity import ARCHITECTURES, COUNTERS, DEFAULT_SIZE

    parser.add_argument("model", metavar="MODEL", nargs="+", choices=sorted(ARCHITECTURES),
                        help=f"architecture(s): {', '.join(ARCHITECTURES)}; one per-module table each")
    parser.add_argument("--height", type=int, default=DEFAULT_SIZE[0], help="input height, multiple of 64 (512)")
    parser.add_argument("--width", type=int, default=DEFAULT_SIZE[1], help="input width, multiple of 64 (768)")
    parser.add_argument("--out", metavar="DIR", help="write table2.* and table3.* (CSV, Markdown, LaTeX) here")
    parser.add_argument("--counters", nargs="+", choices=COUNTERS, default=list(COUNTERS),
                        help="counters to run; the first is the reference column (default: all three)")
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                        help="constructor option of MODEL (int or text), e.g. fusion=aff, N=64; repeatable")
    parser.add_argument("--time", action="store_true",
                        help="with --out: add measured CPU encode/decode ms per megapixel to Table II")
    parser.add_argument("--repeats", type=int, default=3, help="with --time: timed runs per model (median; 3)")
    parser.add_argument("--threads", type=int, nargs="+", metavar="N",
                        help="with --time: intra-op thread counts (default: 1 and the machine's logical CPUs)")


def parse_options(items: list[str]) -> dict[str, object]:
    """["N=64", "fusion=aff"] -> {"N": 64, "fusion": "aff"}."""
    options: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"option {item!r} is not KEY=VALUE (e.g. -o gs_layout=pyramid321)")
        options[key] = int(value) if value.lstrip("-").isdigit() else value
    return options


def run(args: argparse.Namespace) -> int:
    import torch

    with torch.no_grad():  # scoped: a caller in the same process (a test, a notebook) keeps its grad mode
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rdbench import complexity as cx

    counters = tuple(dict.fromkeys(args.counters))
    options = parse_options(args.option)
    models = list(dict.fromkeys(args.model))
    if options and len(models) > 1:
        raise ValueError(f"-o options apply to one MODEL; got {len(models)} ({', '.join(models)}): "
                         "count them one by one")
    if args.time and not args.out:
        raise ValueError("--time adds columns to Table II, which only --out writes; add --out DIR")
    if args.time and (args.repeats < 1 or any(t < 1 for t in args.threads or ())):
        raise ValueError("--repeats and --threads must be at least 1")
    results = {}
    for name in models:
        arch = cx.get_architecture(name)
        unknown = set(options) - set(arch.defaults)
        if unknown:
            raise ValueError(f"{name} has no option(s) {sorted(unknown)}; its options: {', '.join(arch.defaults)}")
        results[name] = cx.count(arch, args.height, args.width, counters, options)
        print(cx.to_markdown(cx.table3(results[name], counters)))
    if args.out:
        out = Path(args.out)
        counted = [results[a] if a in results and not options else cx.count(cx.ARCHITECTURES[a], args.height,
                                                                              args.width, counters)
                   for a, arch in cx.ARCHITECTURES.items() if not arch.on_request or a in models]
        timings = None
        if args.time:
            from rdbench import timing

            # trit-plane models (on_request) code through their own container; the harness times their cells
            timings = timing.measure([a for a in cx.ARCHITECTURES.values() if not a.on_request], args.height,
                                     args.width, args.repeats, args.threads)
        table2 = cx.table2(counted, counters, timings)
        written = cx.write_table(table2, out / "table2")
        for i, (name, result) in enumerate(results.items()):
            written += cx.write_table(cx.table3(result, counters), out / ("table3" if i == 0 else f"table3-{name}"))
        print(cx.to_markdown(table2))
        print("wrote " + ", ".join(str(p) for p in written))
    return 0
