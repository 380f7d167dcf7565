"""`rdbench bd`: the Bjøntegaard delta of codecs against an anchor, from one rd.csv."""

HELP = "BD-rate (and BD-quality) of codecs against an anchor from an rd.csv, with overlap and interval"
EPILOG = """examples:
  rdbench bd --csv results/kodak/rd.csv --anchor hevc444 --test jpeg webp --metric psnr-rgb
  rdbench bd --csv results/kodak/rd.csv --anchor hevc444 --test treenet --metric ms-ssim-rgb --ms-ssim raw \\
      --method akima --averaging per-image --bootstrap 1000 --seed 0 --rate-range 0.05 0.5
  rdbench bd --csv results/kodak/rd.csv --anchor hevc444 --metric psnr-rgb \\
      --published reference/kodak/bpg_444_x265_ycbcr.json      # a published curve against the anchor
Negative BD-rate: fewer bits than the anchor for the same quality. The method, the averaging convention
and the overlap of the curves are always printed; curves that do not overlap give an error, not a number.
"""


def configure(parser):
    from rdbench.bd import METHODS
    from rdbench.report.compare import AVERAGING, BDSettings

    parser.add_argument("--csv", required=True, help="an rd.csv (results/<dataset>/rd.csv)")
    parser.add_argument("--anchor", required=True, help="anchor codec (the paper: bpg)")
    parser.add_argument("--test", nargs="+", default=[], help="codec(s) to compare against the anchor")
    parser.add_argument("--metric", nargs="+", required=True, help="metric column(s), e.g. psnr-rgb ms-ssim-rgb")
    parser.add_argument("--dataset", help="the dataset, when the rd.csv holds several")
    parser.add_argument("--method", choices=METHODS, default="pchip",
                        help="pchip (default: holds the value under resampling of a curve, docs/bd.md); "
                             "cubic: VCEG-M33 cubic polynomial (the paper's); akima")
    parser.add_argument("--averaging", choices=AVERAGING, default="mean-curve",
                        help="mean-curve: BD of the dataset-mean curves (default, the paper's); "
                             "per-image: mean of per-image BDs")
    parser.add_argument("--bootstrap", type=int, default=0, help="resamples of images for an interval (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    parser.add_argument("--min-overlap", type=float, default=BDSettings.min_overlap,
                        help="refuse a BD when the curves overlap less than this fraction of the union of their "
                             "ranges (default %(default)s)")
    parser.add_argument("--ms-ssim", choices=("db", "raw"), default="db",
                        help="MS-SSIM on the quality axis: db, -10 log10(1 - x) (default), or raw")
    parser.add_argument("--rate-range", type=float, nargs=2, metavar=("LO", "HI"),
                        help="clip both curves to LO..HI bpp by interpolation first")
    parser.add_argument("--quality", action="store_true", help="also print BD-quality (BD-PSNR for PSNR)")
    parser.add_argument("--published", nargs="+", default=[], metavar="FILE.json",
                        help="CompressAI results JSON curve(s) to compare against the anchor (marked published)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per result")


def run(args) -> int:
    import json

    from rdbench.bd import BDError
    from rdbench.report.compare import BDSettings, compare, compare_published, select_dataset
    from rdbench.report.published import load_published
    from rdbench.results import read_rd_csv

    if not args.test and not args.published:
        raise ValueError("nothing to compare: give --test CODEC ... and/or --published FILE.json ...")
    settings = BDSettings(method=args.method, averaging=args.averaging, bootstrap=args.bootstrap, seed=args.seed,
                          ms_ssim_db=args.ms_ssim == "db", confidence=args.confidence,
                          min_overlap=args.min_overlap, small_overlap=max(args.min_overlap, BDSettings.small_overlap),
                          rate_range=tuple(args.rate_range) if args.rate_range else None)
    df, dataset = select_dataset(read_rd_csv(args.csv), args.dataset)
    curves = load_published(args.published)
    kinds = ["rate", "quality"] if args.quality else ["rate"]
    failures = 0
    for metric in args.metric:
        jobs = [(t, lambda t=t, k=k: compare(df, args.anchor, t, metric, settings, kind=k, dataset=dataset), k)
                for t in args.test for k in kinds]
        jobs += [(c.label, lambda c=c, k=k: compare_published(df, args.anchor, c, metric, settings, kind=k,
                                                               dataset=dataset), k) for c in curves for k in kinds]
        for name, job, kind in jobs:
            try:
                result = job()
            except BDError as exc:
                failures += 1
                if args.json:
                    print(json.dumps({"dataset": dataset, "metric": metric, "codec": name, "kind": kind,
                                      "anchor": args.anchor, "error": str(exc)}))
                else:
                    print(f"BD-{kind} of {name} vs {args.anchor} on {dataset}, {metric}: undefined\n  {exc}\n")
                continue
            if args.json:
                print(json.dumps(result.as_row()))
            else:
                print(result.describe() + ("\nsource: published curve (imported, not measured)"
                                           if result.source == "published" else "") + "\n")
    return 1 if failures else 0
