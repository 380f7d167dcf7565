"""Settings of one training run (``rdbench train``'s options) and their checks, before any work starts."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rdbench.training.recipe import SCHEDULES
from rdbench.training.step import check_compile


@dataclass
class TrainConfig:
    """Settings of one training run (the CLI's options; see `rdbench train --help`)."""

    model: str
    points: tuple[int, ...]
    data: tuple[str, ...]
    steps: int | None = None
    epochs: int | None = None
    batch: int = 16
    crop: int = 256
    lr: float = 1e-4
    lr_scale: str = "none"
    lr_schedule: str = "constant"  # rdbench.training.recipe: constant | cosine (to lr_final at the last step)
    lr_final: float = 1e-5
    lr_warmup: int = 0  # steps of linear warm-up (use it with init_from_weights)
    preset: str | None = None  # the preset whose defaults the CLI applied (recorded, never applied here)
    threads: int = 0  # CPU threads of torch (0: torch's default)
    aux_lr: float = 1e-3
    clip: float = 1.0
    lambda1: float | None = None
    lambda2: float | None = None
    device: str = "auto"
    out: str | None = None
    resume: bool = False
    val_images: int = 16
    val_crop: int = 0  # side of the validation centre crops (0: --crop); fix it to compare crop sizes
    val_every: int = 1000
    log_every: int = 100
    checkpoint_every: int = 1000
    export_every: int = 0
    export_dir: str | None = None
    export_dtype: str = "float32"  # or float16: half the bytes, coding as bit-exact (rdbench.models.weights)
    init_from_weights: str | None = None  # "" = the codec's default weights folder
    init_point: int | None = None  # start every point from this point's weights (fine-tuning to other lambdas)
    seed: int = 0
    small: str = "upscale"
    same_batch: bool = False
    compile: bool = False
    cuda_graph: bool = False
    amp: str = "none"
    progress: bool | None = None  # None: a tqdm bar when stderr is a TTY, log lines otherwise
    workers: int = 8


def resolve_device(name: str) -> torch.device:
    """`--device` as a torch device: auto is cuda where there is one; a missing CUDA is refused."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {name!r}: choose cpu, cuda, cuda:N or auto")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA device here (torch {torch.__version__}, "
                         f"cuda build {torch.version.cuda}); use --device cpu")
    return device


def check(cfg: TrainConfig, device: torch.device) -> None:
    """Refuse a contradictory or out-of-range setting, naming its option."""
    if (cfg.steps is None) == (cfg.epochs is None):
        raise ValueError("give exactly one of --steps N and --epochs E")
    if (cfg.steps or 1) < 1 or (cfg.epochs or 1) < 1:
        raise ValueError(f"--steps / --epochs must be >= 1, got {cfg.steps or cfg.epochs}")
    if cfg.batch < 1 or cfg.crop < 16:
        raise ValueError(f"--batch must be >= 1 and --crop >= 16, got {cfg.batch} and {cfg.crop}")
    for name in ("val_every", "log_every", "checkpoint_every", "export_every"):
        if getattr(cfg, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 0 (0 = only at the end)")
    if cfg.cuda_graph and device.type != "cuda":
        raise ValueError("--cuda-graph needs --device cuda")
    if cfg.lr_schedule not in SCHEDULES:
        raise ValueError(f"--lr-schedule {cfg.lr_schedule!r}: choose one of {', '.join(SCHEDULES)}")
    if not (cfg.lr >= 0 and cfg.lr_final >= 0):
        raise ValueError(f"--lr and --lr-final must be >= 0, got {cfg.lr} and {cfg.lr_final}")
    if cfg.val_crop and cfg.val_crop % 64:
        raise ValueError(f"--val-crop {cfg.val_crop} must be a multiple of 64 (or 0: the training --crop)")
    if cfg.init_point is not None and cfg.init_from_weights is None:
        raise ValueError("--init-point K needs --init-from-weights [WEIGHTS_DIR] (where point K's weights are)")
    if cfg.export_dtype not in ("float32", "float16"):
        raise ValueError(f"--export-dtype {cfg.export_dtype!r}: choose float32 or float16")
    if cfg.lr_warmup < 0:
        raise ValueError(f"--lr-warmup must be >= 0 steps, got {cfg.lr_warmup}")
    if cfg.threads < 0:
        raise ValueError(f"--threads must be >= 0 (0: torch's default), got {cfg.threads}")
    if cfg.compile:
        check_compile(device)
    if cfg.amp not in ("none", "bf16"):
        raise ValueError(f"--amp {cfg.amp!r}: choose none or bf16 (fp16 would need loss scaling)")
    if len(set(cfg.points)) != len(cfg.points) or not cfg.points:
        raise ValueError(f"--point {','.join(map(str, cfg.points))}: give each rate point once")
