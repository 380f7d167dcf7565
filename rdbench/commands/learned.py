"""`rdbench learned`: weights of the learned codecs: convert CompressAI checkpoints, list what is present."""

HELP = "learned-codec weights: import CompressAI checkpoints, list present weights with sha256"
EPILOG = """examples:
  rdbench learned list                       # every learned codec's points: present/missing, sha256
  rdbench learned list --json                # the same as JSON (sha256: the file's, checked against its sidecar)
  rdbench learned import bmshj2018-hyperprior 3 bmshj2018-hyperprior-3-6d87be32.pth.tar

`import` converts one of CompressAI's published MSE checkpoints (download it yourself when online: the
URL is in `rdbench learned list` for a missing point) into weights/<codec>/<point>.safetensors + .json.
It reads the .pth.tar with torch.load(weights_only=True): that is the one place rdbench reads a
pickle-based file, as your explicit step; weights_only refuses anything but tensors and plain containers.
Afterwards only the safetensors file is used.
"""



def configure(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("import", help="convert a CompressAI .pth.tar checkpoint to safetensors + sidecar",
                       description="Convert a CompressAI checkpoint to weights/<ARCH>/<QUALITY>.safetensors + .json. "
                       "CHECKPOINT is a pickle-based file: it is read with torch.load(weights_only=True), which "
                       "admits only tensors and plain containers; run this only on files you downloaded yourself.")
    p.add_argument("codec", metavar="ARCH", help="a CompressAI zoo codec, e.g. bmshj2018-hyperprior")
    p.add_argument("quality", type=int, metavar="QUALITY", help="the zoo quality = rdbench rate point")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="the downloaded .pth.tar file")
    p.add_argument("--weights-dir", help="weights root (default: $RDBENCH_WEIGHTS, else the checkout's weights/)")
    p.add_argument("--force", action="store_true", help="replace existing weights for that point")
    p = sub.add_parser("list", help="learned codecs' weights: present or missing, sha256, architecture")
    p.add_argument("--weights-dir", help="weights root (default: $RDBENCH_WEIGHTS, else the checkout's weights/)")
    p.add_argument("--verify", action="store_true",
                   help="kept for old scripts: every file's own sha256 is always computed and checked")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
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
    import torch
    from compressai.zoo.pretrained import load_pretrained

    from rdbench.codecs.learned import CompressAIZooCodec, save_weights, weights_path
    from rdbench.models.weights import file_sha256

    zoo = {name: cls for name, cls in _learned_codecs().items() if issubclass(cls, CompressAIZooCodec)}
    if args.codec not in zoo:
        raise ValueError(f"{args.codec!r} is not a CompressAI zoo codec; choose one of {', '.join(sorted(zoo))}")
    cls = zoo[args.codec]
    kwargs = cls.architecture_kwargs(args.quality)  # raises for a quality the zoo does not have
    target = weights_path(args.codec, args.quality, args.weights_dir)
    if target.exists() and not args.force:
        raise FileExistsError(f"{target} exists; pass --force to replace it")
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a CompressAI training checkpoint rather than a published one
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{args.checkpoint}: not a state dict of tensors (found {type(state).__name__})")
    model = cls.build(args.quality)
    try:
        model.load_state_dict(load_pretrained(state))
    except RuntimeError as exc:
        raise ValueError(f"{args.checkpoint} does not fit {args.codec} quality {args.quality} = "
                         f"{cls.architecture}({kwargs}); is it the checkpoint of another quality? {exc}") from exc
    from rdbench.training.models import ZOO_MSE_LAMBDAS  # recorded in the sidecar of imported weights

    sha = save_weights(model.eval(), target, {
        "codec": args.codec, "point": args.quality, "architecture": cls.architecture, "kwargs": kwargs,
        "lambda": ZOO_MSE_LAMBDAS.get(args.quality), "metric": "mse",
        "source": {"file": str(args.checkpoint).rsplit("/", 1)[-1], "sha256": file_sha256(args.checkpoint)},
        "notes": "CompressAI published weights, converted by `rdbench learned import`; CDF tables recomputed "
                 "with update(force=True) as CompressAI's eval_model does",
    })
    print(f"wrote {target} (sha256 {sha})")
    return 0


def _published_url(name: str, point: int) -> str | None:
    from rdbench.codecs.learned import CompressAIZooCodec

    cls = _learned_codecs().get(name)
    return cls.published_url(point) if cls is not None and issubclass(cls, CompressAIZooCodec) else None


def list_weights(args) -> int:
    import json

    from rdbench.models.weights import WeightsError, file_sha256, read_sidecar, weights_path, weights_root

    root = weights_root(args.weights_dir)
    wanted = {(name, p) for name, cls in _learned_codecs().items() for p in cls.default_points}
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
