"""Training checkpoints: everything needed to continue a run as if it had never stopped.

One file, ``<out>/checkpoint.pt`` (``torch.save`` of plain containers and tensors, read back with
``torch.load(weights_only=True)``, which refuses arbitrary pickled objects)::

    format            CHECKPOINT_FORMAT
    step              steps completed by every rate point
    config            the run's settings that fix the result (see RESUME_KEYS)
    members           {point: {"model": state_dict, "optimizer": ..., "aux_optimizer": ... | None}}
    rng               {"torch": CPU generator state, "cuda": per-device states | None}
    clock             {"cpu_s", "wall_s"}: what the run has spent so far (rdbench.training.recipe)

The data order is a function of (seed, point, step) (see rdbench.training.data), so the step
number restores it; the RNG states restore the quantisation noise. On CPU a resumed run is
bit-identical to an uninterrupted one (tested). On CUDA, cuDNN picks algorithms whose float sums are
not reproducible, so a resumed GPU run matches in data order and state, not to the last bit.
Writes are atomic (temp file in the same folder + rename): a crash never leaves half a checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from rdbench.atomic import atomic_path

CHECKPOINT_FORMAT = "rdbench.train-checkpoint/1"
# Settings a resumed run must share with the run that wrote the checkpoint (others may change:
# the number of steps, the device, logging and validation intervals, compile / CUDA graph).
RESUME_KEYS = ("model", "points", "lambdas", "batch", "crop", "lr", "aux_lr", "clip", "seed", "data_hash",
               "val_images", "small", "same_batch", "amp", "lr_schedule", "lr_final", "schedule_steps", "lr_warmup")


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed from, with the reason and the fix."""


def capture_rng() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None}


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(states)


def save(path: str | Path, step: int, config: dict[str, Any], members: dict[int, dict[str, Any]],
         clock: dict[str, float] | None = None) -> None:
    """Write the checkpoint atomically. `members` maps point -> {model, optimizer, aux_optimizer} state dicts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "step": int(step), "config": config, "members": members,
               "rng": capture_rng(), "clock": dict(clock or {})}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load(path: str | Path, config: dict[str, Any]) -> dict[str, Any]:
    """Read a checkpoint and check it belongs to a run with the same RESUME_KEYS settings."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"--resume: no checkpoint at {path}; start without --resume, or pass the --out "
                              "folder of the run to continue")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc}); delete it to start "
                              "over, or restore it") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not an rdbench training checkpoint (format {found!r}, "
                              f"expected {CHECKPOINT_FORMAT!r})")
    saved = payload["config"]
    differ = [f"{k}: checkpoint {saved.get(k)!r}, now {config.get(k)!r}" for k in RESUME_KEYS
              if _norm(saved.get(k)) != _norm(config.get(k))]
    if differ:
        raise CheckpointError(f"{path} was written by a run with other settings ({'; '.join(differ)}); resume "
                              "with the same settings, or use another --out to start a new run")
    return payload


def _norm(value: Any) -> Any:
    """Compare lists and tuples (JSON round trips turn tuples into lists) and int keys as equal."""
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _norm(v) for k, v in value.items()}
    return value
