"""`rdbench progress CODEC`: record a learned codec's current weights in its training campaign."""

HELP = "append the current weights' Kodak BD-rate, BD-PSNR and PSNR at 0.25 bpp to the codec's training-progress plot"
EPILOG = """examples:
  rdbench progress treenet                      # results/kodak/rd.csv, anchor hevc444, weights/treenet
  rdbench progress treenet --csv results/kodak/rd.csv --anchor hevc444 --out results/treenet
Writes <out>/progress.csv (one row per set of weights: crops seen, CPU-hours, BD-rate, BD-PSNR, PSNR at 0.25 bpp),
progress.md and progress.png. Run it after the workflow has measured new weights; a rerun with the same
weights replaces their row.
"""


def configure(parser):
    parser.add_argument("codec", help="a learned codec with measured cells, e.g. treenet")
    parser.add_argument("--csv", default="results/kodak/rd.csv", help="rd.csv with the codec's cells")
    parser.add_argument("--anchor", default="hevc444", help="BD-rate anchor (default hevc444)")
    parser.add_argument("--weights-dir", help="weights root (default: $RDBENCH_WEIGHTS, weights/)")
    parser.add_argument("--out", help="output folder (default results/<codec>)")


def run(args) -> int:
    from pathlib import Path

    from rdbench.codecs import create
    from rdbench.models.weights import read_sidecar
    from rdbench.report.progress import campaign_row, plot, read_rows, record, write_table

    codec = create(args.codec, weights_dir=args.weights_dir)
    sidecars = {int(p): read_sidecar(codec.weights_file(p)) for p in codec.points()}
    out = Path(args.out or f"results/{args.codec}")
    earlier = read_rows(out / "progress.csv")
    rows = record(out / "progress.csv", campaign_row(args.csv, args.codec, args.anchor, sidecars, earlier))
    write_table(out / "progress.md", rows)
    print(plot(rows, out / "progress.png", args.codec))
    last = rows[-1]
    bd = f"BD-rate {last['bd_rate_psnr']} %" if last["bd_rate_psnr"] else f"BD-rate undefined ({last['bd_note']})"
    print(f"{args.codec}: {last['crops_total']} crops, {last['cpu_hours_spent']} CPU-hours: {bd} vs {last['anchor']} "
          f"(PSNR); PSNR {last['psnr_at_0.1bpp']} dB at 0.1 bpp, {last['psnr_at_0.25bpp']} dB at 0.25 bpp")
    return 0
