"""`rdbench learned convert`: the user's pickled checkpoint of any CompressAI-style class -> safetensors.

    CHECKPOINT (.pth.tar, pickle) --torch.load(weights_only=True)--> state dict --Class(**kwargs) strict fit-->
    update(force=True) --> FILE.safetensors (every tensor, CDF tables included) + FILE.json (where it came from)

The one step that executes pickle, as the user's explicit command and for the user's own files;
``weights_only=True`` admits only tensors and plain containers. ``rdbench run --codec learned`` then
reads FILE.safetensors directly and never a pickle. Output goes where the user says (``--out``) or
into ``$RDBENCH_WEIGHTS``, never into the rdbench checkout unasked.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

PICKLE_NOTE = ("reading {file} with torch.load(weights_only=True): this executes pickle (restricted to tensors "
               "and plain containers); do this only for your own files")


def output_root(named: str | os.PathLike | None, flag: str) -> Path:
    """Where converted weights go: the folder the user names, else $RDBENCH_WEIGHTS; else an error."""
    if named:
        return Path(named).expanduser()
    if os.environ.get("RDBENCH_WEIGHTS"):
        return Path(os.environ["RDBENCH_WEIGHTS"]).expanduser()
    raise ValueError(f"say where the weights go: {flag} or RDBENCH_WEIGHTS=DIR (rdbench does not write weights "
                     "into its checkout unasked)")


def read_state(checkpoint: str | os.PathLike) -> dict:
    """The state dict of a pickled checkpoint (a bare one, or a training checkpoint's ``state_dict``;
    a DataParallel ``module.`` prefix removed). Executes pickle, restricted by ``weights_only=True``."""
    import torch

    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{checkpoint}: not a checkpoint torch.load(weights_only=True) accepts "
                         f"({type(exc).__name__}: {str(exc)[:300]})") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a training checkpoint rather than a bare state dict
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{checkpoint}: not a state dict of tensors (found {type(state).__name__})")
    if all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def convert(args) -> int:
    from safetensors.torch import save_file

    from rdbench import atomic
    from rdbench.codecs.checkpoint import import_target, parse_kwargs
    from rdbench.models.weights import _check_finite, file_sha256

    source = Path(args.checkpoint)
    if not source.is_file():
        raise FileNotFoundError(f"checkpoint {source} not found")
    out = Path(args.out).expanduser() if args.out else output_root(None, "--out FILE.safetensors") / (
        source.name.split(".")[0] + ".safetensors")
    if out.suffix != ".safetensors":
        raise ValueError(f"--out {out}: the output must end with .safetensors")
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists; pass --force to replace it")
    kwargs = parse_kwargs(args.kwargs)
    cls = import_target(args.model)  # the model class first: a wrong name fails before any pickle is read
    print(PICKLE_NOTE.format(file=source), file=sys.stderr)
    state = read_state(source)
    import torch

    with torch.random.fork_rng(devices=[]):
        model = cls(**kwargs)
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ValueError(f"{source} does not fit {args.model}({args.kwargs}): {str(exc)[:600]}; check --model and "
                         "--kwargs") from exc
    model.update(force=True)  # the CDF tables of these parameters, stored with them
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    _check_finite(tensors, f"{source} (not converted)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(out) as tmp:
        save_file(tensors, str(tmp))
    sha256 = file_sha256(out)
    record = {"model": args.model, "kwargs": kwargs, "sha256": sha256, "format": "safetensors",
              "source": "the user's checkpoint, converted by `rdbench learned convert`",
              "converted_from": {"file": str(source.absolute()), "sha256": file_sha256(source)},
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    atomic.write_text(out.with_suffix(".json"), json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out} (sha256 {sha256})\nbenchmark it: rdbench run --codec learned --model {args.model}"
          + (f" --kwargs {args.kwargs}" if args.kwargs else "") + f" --weights {out} --dataset kodak --out runs/mine")
    return 0
