"""`rdbench learned`: weights of the learned codecs: convert checkpoints, list what is present."""

HELP = "learned-codec weights: convert/import pickled checkpoints to safetensors, list present weights"
EPILOG = """examples:
  rdbench learned list                       # every learned codec's points: present/missing, sha256
  rdbench learned list --json                # the same as JSON (sha256: the file's, checked against its sidecar)
  rdbench learned convert mynet-q3.pth.tar --model mypkg.models:MyNet --kwargs N=128,M=192 --out mynet-q3.safetensors
  rdbench learned import bmshj2018-hyperprior 3 bmshj2018-hyperprior-3-6d87be32.pth.tar --weights-dir ~/rdbench-weights

`convert` turns your own pickled checkpoint (.pth.tar) of any CompressAI-style class into a safetensors
file for `rdbench run --codec learned --weights FILE` (and a FILE.json saying where it came from).
`import` converts a checkpoint of a CompressAI zoo architecture into <weights dir>/<codec>/<point>.safetensors
+ .json for that zoo codec; it records CompressAI's published provenance (lambda, metric) only when the
file's sha256 matches the hash in CompressAI's URL for that quality, else it records your checkpoint.
Both read the .pth.tar with torch.load(weights_only=True): that executes pickle (restricted to tensors
and plain containers), the one place rdbench reads a pickle-based file, as your explicit step; run them
only on files you made or downloaded yourself. Afterwards only the safetensors file is used. Both write
where you say (--out / --weights-dir) or into $RDBENCH_WEIGHTS, never into the rdbench checkout unasked.
"""


def configure(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("import", help="convert a CompressAI .pth.tar checkpoint to safetensors + sidecar",
                       description="Convert a checkpoint of a CompressAI zoo architecture to <weights dir>/<ARCH>/<QUALITY>.safetensors "
                       "+ .json (--weights-dir, else $RDBENCH_WEIGHTS). "
                       "CHECKPOINT is a pickle-based file: it is read with torch.load(weights_only=True), which "
                       "admits only tensors and plain containers; run this only on files you downloaded yourself.")
    p.add_argument("codec", metavar="ARCH", help="a CompressAI zoo codec, e.g. bmshj2018-hyperprior")
    p.add_argument("quality", type=int, metavar="QUALITY", help="the zoo quality = rdbench rate point")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="the downloaded .pth.tar file")
    p.add_argument("--weights-dir", help="weights root (default: $RDBENCH_WEIGHTS; one of the two is required)")
    p.add_argument("--force", action="store_true", help="replace existing weights for that point")
    p.add_argument("--lambda", dest="lmbda", type=float, help="the lambda your checkpoint was trained with (recorded)")
    p.add_argument("--metric", help="the distortion it was trained for, e.g. mse (recorded)")
    p = sub.add_parser("convert", help="convert your own pickled checkpoint of any CompressAI-style class to safetensors",
                       description="Convert a pickled checkpoint (.pth.tar) of a CompressAI-style model class to a "
                       "safetensors file (+ FILE.json) for `rdbench run --codec learned`. This EXECUTES PICKLE "
                       "(torch.load(weights_only=True)): only for your own files.")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="the .pth.tar / .pth / .pt file")
    p.add_argument("--model", required=True, metavar="MODULE:CLASS", help="pkg.module:Class or path/to/file.py:Class")
    p.add_argument("--kwargs", default="", metavar="K=V,...", help="constructor keywords, e.g. N=128,M=192")
    p.add_argument("--out", help="the .safetensors file to write (default: $RDBENCH_WEIGHTS/<checkpoint name>.safetensors)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p = sub.add_parser("list", help="learned codecs' weights: present or missing, sha256, architecture")
    p.add_argument("--weights-dir", help="weights root (default: $RDBENCH_WEIGHTS, else the checkout's weights/)")
    p.add_argument("--verify", action="store_true",
                   help="kept for old scripts: every file's own sha256 is always computed and checked")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    if args.action == "convert":
        from rdbench.models.convert import convert

        return convert(args)
    return import_checkpoint(args) if args.action == "import" else list_weights(args)


def _learned_codecs() -> dict:
    from rdbench.codecs import codecs
    from rdbench.codecs.learned import LearnedCodec

    out = {}
    for name in codecs.names():
        try:
            cls = codecs.get(name)
        except Exception:  # a broken plugin is `rdbench codecs`' business
            continue
        if isinstance(cls, type) and issubclass(cls, LearnedCodec):
            out[name] = cls
    return out


def import_checkpoint(args) -> int:
    import sys

    from compressai.zoo.pretrained import load_pretrained

    from rdbench.codecs.learned import CompressAIZooCodec, save_weights, weights_path
    from rdbench.models.convert import PICKLE_NOTE, output_root, read_state
    from rdbench.models.weights import file_sha256

    zoo = {name: cls for name, cls in _learned_codecs().items() if issubclass(cls, CompressAIZooCodec)}
    if args.codec not in zoo:
        raise ValueError(f"{args.codec!r} is not a CompressAI zoo codec; choose one of {', '.join(sorted(zoo))}")
    cls = zoo[args.codec]
    kwargs = cls.architecture_kwargs(args.quality)  # raises for a quality the zoo does not have
    target = weights_path(args.codec, args.quality, output_root(args.weights_dir, "--weights-dir"))
    if target.exists() and not args.force:
        raise FileExistsError(f"{target} exists; pass --force to replace it")
    print(PICKLE_NOTE.format(file=args.checkpoint), file=sys.stderr)
    state = read_state(args.checkpoint)
    model = cls.build(args.quality)
    try:
        model.load_state_dict(load_pretrained(state))
    except RuntimeError as exc:
        raise ValueError(f"{args.checkpoint} does not fit {args.codec} quality {args.quality} = "
                         f"{cls.architecture}({kwargs}); is it the checkpoint of another quality? {exc}") from exc
    sha256 = file_sha256(args.checkpoint)
    meta = {"codec": args.codec, "point": args.quality, "architecture": cls.architecture, "kwargs": kwargs,
            "source": {"file": str(args.checkpoint).rsplit("/", 1)[-1], "sha256": sha256}}
    url = cls.published_url(args.quality)
    prefix = url.rsplit("-", 1)[-1].split(".", 1)[0] if url else ""
    if prefix and sha256.startswith(prefix):  # CompressAI names its files by their sha256's first 8 hex digits
        from rdbench.training.models import ZOO_MSE_LAMBDAS

        meta.update({"lambda": ZOO_MSE_LAMBDAS.get(args.quality), "metric": "mse"})
        meta["source"].update(kind="CompressAI published weights", url=url)
        meta["notes"] = (f"CompressAI's published checkpoint (sha256 starts with {prefix}, as its URL says), converted "
                         "by `rdbench learned import`; CDF tables recomputed with update(force=True) as CompressAI's "
                         "eval_model does")
    else:
        meta["source"]["kind"] = "the user's checkpoint"
        meta.update({k: v for k, v in (("lambda", args.lmbda), ("metric", args.metric)) if v is not None})
        meta["notes"] = (f"the user's checkpoint of {cls.architecture}({kwargs}), converted by `rdbench learned import`"
                         + (f"; not CompressAI's published file for quality {args.quality} (whose sha256 starts with "
                            f"{prefix})" if prefix else "") + "; CDF tables recomputed with update(force=True)")
    sha = save_weights(model.eval(), target, meta)
    print(f"wrote {target} (sha256 {sha}; source: {meta['source']['kind']})")
    return 0


def _published_url(name: str, point: int) -> str | None:
    from rdbench.codecs.learned import CompressAIZooCodec

    cls = _learned_codecs().get(name)
    return cls.published_url(point) if cls is not None and issubclass(cls, CompressAIZooCodec) else None


def list_weights(args) -> int:
    import json

    from rdbench.models.weights import WeightsError, file_sha256, read_sidecar, weights_path, weights_root

    from rdbench.codecs.checkpoint import CheckpointCodec

    root = weights_root(args.weights_dir)
    # `learned` (and its subclasses) read files named by their options, not files under the weights root
    wanted = {(name, p) for name, cls in _learned_codecs().items() if not issubclass(cls, CheckpointCodec)
              for p in cls.default_points}
    wanted |= {(f.parent.name, int(f.stem)) for f in root.glob("*/*.safetensors") if f.stem.isdigit()}
    rows = []
    for name, point in sorted(wanted):
        path = weights_path(name, point, root)
        row = {"codec": name, "point": point, "path": str(path)}
        try:
            meta = read_sidecar(path)
        except WeightsError as exc:
            found = path.exists() or path.with_suffix(".json").exists()
            row.update(status="invalid" if found else "missing", detail=str(exc))
            if not found and (url := _published_url(name, point)):
                row["url"] = url
            rows.append(row)
            continue
        sha256 = file_sha256(path)  # the file's own, never only what its sidecar claims
        row.update(status="verified" if sha256 == meta["sha256"] else "SHA256 MISMATCH", sha256=sha256,
                   sidecar_sha256=meta["sha256"], architecture=meta["architecture"], kwargs=meta["kwargs"],
                   bytes=path.stat().st_size, **{k: v for k, v in meta.items() if k.startswith("lambda")})
        rows.append(row)
    mismatch = any(r["status"] == "SHA256 MISMATCH" for r in rows)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 1 if mismatch else 0
    print(f"weights root: {root}")
    for r in rows:
        sha = r.get("sha256", "")[:16]
        desc = f"{r['architecture']}({', '.join(f'{k}={v}' for k, v in r['kwargs'].items())})" if "kwargs" in r else ""
        print(f"{r['codec']:<22} {r['point']:>3}  {r['status']:<15} {sha:<16}  {desc}"
              + (f"  -- {r['detail']}" if r["status"] == "invalid" else "")
              + (f"  -- published: {r['url']}" if "url" in r else ""))
    return 1 if mismatch else 0
