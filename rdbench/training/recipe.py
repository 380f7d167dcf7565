"""Named training recipes, the learning-rate schedule, and the budget a run has spent.

The default of ``rdbench train`` is the paper's recipe (Adam at 1e-4, batch 16 of 256 x 256 crops,
constant learning rate). A preset is a named set of defaults for another budget, applied only
where the command line does not set the option itself, and recorded in every sidecar:

* ``paper``: the defaults above (for a GPU and the paper's ~67 M crops).
* ``cpu``: what buys the most rate-distortion per CPU-hour on a 2-core machine, chosen by the
  equal-CPU-time comparison in ``docs/training.md`` (rerun it with ``benchmarks/recipes.py``).

Schedules (``lr_schedule``), as a function of the step s of a run of S steps:

* ``constant``: lr;
* ``cosine``: lr_final + (lr - lr_final) * (1 + cos(pi * s / S)) / 2, from lr at s = 0 to lr_final at S.

``lr_warmup`` W > 0 multiplies either by min(1, (s + 1) / W): a linear warm-up. Use it when starting
from trained weights (``--init-from-weights``): Adam's first steps move every parameter by about lr
whatever its gradient, and at 1e-3 that undoes much of what the weights had learned (measured: a
TreeNet at 21.2 dB validation PSNR fell to 14 dB train PSNR within 50 steps without warm-up).

Budget: the paper trains 450 epochs of 150,000 images per model (``PAPER_CROPS`` = 67.5 M crops of
256 x 256). ``Budget`` counts crops, CPU seconds of the training process (``time.process_time``:
all its threads) and device minutes, cumulated across resumes and across ``--init-from-weights``
(a fine-tuned point carries the budget of the weights it started from).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

PAPER_CROPS = 450 * 150_000
SCHEDULES = ("constant", "cosine")

PRESETS: dict[str, dict[str, object]] = {
    "paper": {"batch": 16, "crop": 256, "lr": 1e-4, "lr_schedule": "constant"},
    "cpu": {"batch": 8, "crop": 128, "lr": 1e-3, "lr_schedule": "cosine", "lr_final": 1e-5, "threads": 1},
}


def learning_rate(step: int, total: int, lr: float, schedule: str = "constant", lr_final: float = 0.0,
                  warmup: int = 0) -> float:
    """The main optimiser's learning rate at `step` of a run of `total` steps (see the module docstring)."""
    ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    if schedule == "constant":
        return lr * ramp
    if schedule == "cosine":
        progress = min(max(step / max(total, 1), 0.0), 1.0)
        return ramp * (lr_final + (lr - lr_final) * 0.5 * (1.0 + math.cos(math.pi * progress)))
    raise ValueError(f"unknown --lr-schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")


@dataclass
class Budget:
    """What a rate point's weights cost: crops seen, CPU-hours, device minutes (all cumulative)."""

    crops: int = 0
    cpu_hours: float = 0.0
    gpu_minutes: float = 0.0

    @classmethod
    def of_sidecar(cls, meta: dict | None) -> "Budget":
        """The cumulative budget a sidecar records (zero for weights that record none)."""
        spent = (meta or {}).get("budget") or {}
        return cls(int(spent.get("crops_seen", 0)), float(spent.get("cpu_hours", 0.0)),
                   float(spent.get("gpu_minutes", 0.0)))

    def plus(self, crops: int, cpu_seconds: float, device_seconds: float) -> "Budget":
        return Budget(self.crops + int(crops), self.cpu_hours + cpu_seconds / 3600,
                      self.gpu_minutes + device_seconds / 60)

    def record(self) -> dict[str, object]:
        return {"crops_seen": self.crops, "paper_crops": PAPER_CROPS,
                "fraction_of_paper": self.crops / PAPER_CROPS, "cpu_hours": round(self.cpu_hours, 4),
                "gpu_minutes": round(self.gpu_minutes, 3)}


class Stopwatch:
    """Process CPU seconds and wall seconds since construction, plus what earlier segments spent."""

    def __init__(self, cpu_s: float = 0.0, wall_s: float = 0.0):
        self.cpu0, self.wall0 = time.process_time() - cpu_s, time.perf_counter() - wall_s

    @property
    def cpu_s(self) -> float:
        return time.process_time() - self.cpu0

    @property
    def wall_s(self) -> float:
        return time.perf_counter() - self.wall0

    def state(self) -> dict[str, float]:
        return {"cpu_s": self.cpu_s, "wall_s": self.wall_s}


def preset_defaults(name: str | None) -> dict[str, object]:
    if name is None:
        return {}
    if name not in PRESETS:
        raise ValueError(f"unknown --preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])


__all__ = ["PAPER_CROPS", "PRESETS", "SCHEDULES", "Budget", "Stopwatch", "learning_rate", "preset_defaults"]
