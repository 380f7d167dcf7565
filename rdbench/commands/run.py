"""`rdbench run`: one codec on one dataset, the same code the workflow runs."""

HELP = "encode/decode/measure one codec on one dataset and write cells + rd.csv"
EPILOG = """examples:
  rdbench run --codec jpeg --dataset kodak --out runs/jpeg
  rdbench run --codec hevc444 --dataset kodak --points 37 32 --images 4 --out runs/quick
  rdbench run --codec webp --dataset ~/photos --option method=6 --out runs/mine
Rerunning with the same --out reuses every finished image.
"""


def positive(text: str) -> int:
    """An argparse type: an integer >= 1 (``--images 0`` or ``-1`` is an error, not "all" or "all but one")."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


positive.__name__ = "integer >= 1"  # argparse names the type in its message


def configure(parser):
    parser.add_argument("--codec", required=True)
    parser.add_argument("--dataset", required=True, help="a name from `rdbench datasets` or a folder of images")
    parser.add_argument("--out", required=True, help="output folder (cells/, <dataset>/rd.csv, work/)")
    parser.add_argument("--points", nargs="+", help="rate points (default: the codec's ladder)")
    parser.add_argument("--images", type=positive, metavar="N", help="only the first N images (N >= 1)")
    parser.add_argument("--metrics", nargs="+", default=["psnr-rgb", "psnr-y", "ms-ssim-rgb"],
                        help="metrics, NAME or NAME:VARIANT (see `rdbench metric --list`; default: %(default)s)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="codec keyword option (YAML value), repeatable")
    parser.add_argument("--threads", type=positive, default=1, help="images coded in parallel")
    parser.add_argument("--max-pixels", type=positive, metavar="N",
                        help="refuse images of more than N pixels, from the header (default: 100000000)")


def run(args) -> int:
    import logging

    import yaml

    from rdbench.run import run as run_codec

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    options = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--option {item!r}: expected KEY=VALUE")
        options[key] = yaml.safe_load(value)
    csv_path = run_codec(args.codec, args.dataset, args.out, points=args.points, max_images=args.images,
                         metric_names=args.metrics, options=options, threads=args.threads,
                         **({"max_pixels": args.max_pixels} if args.max_pixels is not None else {}))
    print(f"wrote {csv_path}")
    return 0
