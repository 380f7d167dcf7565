"""`rdbench run`: one codec on one dataset, the same code the workflow runs."""

HELP = "encode/decode/measure one codec on one dataset and write cells + rd.csv"
EPILOG = """examples:
  rdbench run --codec jpeg --dataset kodak --out runs/jpeg
  rdbench run --codec hevc444 --dataset kodak --points 37 32 --images 4 --out runs/quick
  rdbench run --codec webp --dataset ~/photos --option method=6 --out runs/mine
  rdbench run --codec learned --model mypkg.models:MyNet --kwargs N=128,M=192 \
      --weights mynet-q3.safetensors --point 3 --dataset kodak --out runs/mynet
  rdbench run --codec learned --model models/mynet.py:MyNet --kwargs N=128 \
      --weights 1=q1.safetensors --weights 2=q2.safetensors --dataset kodak --out runs/mynet
Rerunning with the same --out reuses every finished image. `--codec learned` benchmarks any
CompressAI-style model class with your own safetensors checkpoint(s), read where they are (a pickled
.pth.tar: convert it first with `rdbench learned convert`); docs/benchmark-a-checkpoint.md.
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
    learned = parser.add_argument_group("--codec learned (your own checkpoint)")
    learned.add_argument("--model", metavar="MODULE:CLASS",
                         help="a CompressAI-style model class: pkg.module:Class or path/to/file.py:Class")
    learned.add_argument("--kwargs", metavar="K=V,...", help="the class's constructor keywords, e.g. N=128,M=192")
    learned.add_argument("--weights", action="append", metavar="[POINT=]FILE",
                         help="a .safetensors file (its point: --point, else 1), or POINT=FILE, repeatable")
    learned.add_argument("--point", type=positive, metavar="K", help="the rate point of a single --weights FILE")
    learned.add_argument("--device", choices=("cpu", "cuda"), help="where the networks run (default cpu)")
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
    options.update(learned_options(args))
    points = args.points
    if args.point is not None:
        if points and points != [str(args.point)]:
            raise ValueError(f"--point {args.point} and --points {' '.join(points)} disagree; give one of them")
        points = [str(args.point)]
    csv_path = run_codec(args.codec, args.dataset, args.out, points=points, max_images=args.images,
                         metric_names=args.metrics, options=options, threads=args.threads,
                         **({"max_pixels": args.max_pixels} if args.max_pixels is not None else {}))
    print(f"wrote {csv_path}")
    return 0


def learned_options(args) -> dict:
    """The options of codec ``learned`` from --model/--kwargs/--weights/--point/--device (none: {})."""
    given = {k: getattr(args, k) for k in ("model", "kwargs", "weights", "device") if getattr(args, k) is not None}
    if not given and args.point is None:
        return {}
    if args.codec != "learned":
        flags = " ".join(f"--{k}" for k in given) or "--point"
        if given:
            raise ValueError(f"{flags}: only for --codec learned (your own checkpoint), not {args.codec!r}")
        return {}
    from rdbench.codecs.checkpoint import parse_kwargs

    options = {k: v for k, v in given.items() if k in ("model", "device")}
    if args.kwargs is not None:
        options["kwargs"] = parse_kwargs(args.kwargs)
    files = {}
    for item in args.weights or []:
        head, sep, tail = item.partition("=")
        if sep and head.isdigit():
            files[int(head)] = tail
        elif len(args.weights) == 1:
            files[args.point or 1] = item
        else:
            raise ValueError(f"--weights {item!r}: with several --weights, write each as POINT=FILE")
    if files:
        options["weights"] = files
    return options
