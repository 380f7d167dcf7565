"""Validation on the held-back training images, and the CSV training log.

Validation runs the model in eval mode (latents rounded, BatchNorm on running statistics) on the
centre crop of every held-back image and reports, per rate point:
  bpp      estimated from the likelihoods of the rounded latents (not a file size: no header, no
           entropy-coder overhead), mean over images;
  psnr     of the reconstruction rounded to 8 bits, mean over images of the per-image PSNR (dB);
  ms_ssim  of the same 8-bit reconstruction, mean over images;
  loss     the training loss on the unrounded reconstruction (comparable to the train rows).
Train rows average the statistics of the steps since the previous row; their ``psnr`` is the PSNR
of that mean MSE and their bpp is the noisy-latent estimate the loss optimises.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from rdbench.training.loss import RateDistortionLoss, bits_per_pixel, ms_ssim

LOG_COLUMNS = ("point", "step", "epoch", "images_seen", "split", "loss", "bpp", "mse", "psnr", "ms_ssim", "aux",
               "lr", "images_per_s", "elapsed_s", "cpu_s", "skipped_steps")


@torch.no_grad()
def validate(model: nn.Module, criterion: RateDistortionLoss, images: Tensor, batch: int) -> dict[str, float]:
    """Metrics of `model` on Nx3xHxW uint8 `images` (see the module docstring); restores train mode."""
    was_training = model.training
    model.eval()
    sums = {"loss": 0.0, "bpp": 0.0, "mse": 0.0, "psnr": 0.0, "ms_ssim": 0.0}
    try:
        for chunk in images.split(batch):
            x = chunk.float().div(255.0)
            out = model(x)
            terms = criterion(out, x)
            x8 = out["x_hat"].float().clamp(0, 1).mul(255).round().div(255)
            mse = (x8 - x).pow(2).mean(dim=(1, 2, 3))
            n = x.shape[0]
            sums["loss"] += float(terms["loss"]) * n
            for i in range(n):
                sums["bpp"] += float(bits_per_pixel(_select(out["likelihoods"], i), x.shape[-2] * x.shape[-1]))
            sums["mse"] += float(mse.sum())
            sums["psnr"] += float((10 * torch.log10(1.0 / mse.clamp_min(1e-10))).sum())
            sums["ms_ssim"] += float(ms_ssim(x8, x).sum())
    finally:
        model.train(was_training)
    return {k: v / images.shape[0] for k, v in sums.items()}


def _select(likelihoods, i: int):
    if isinstance(likelihoods, Tensor):
        return likelihoods[i:i + 1]
    if isinstance(likelihoods, dict):
        return {k: _select(v, i) for k, v in likelihoods.items()}
    return [_select(v, i) for v in likelihoods]


def psnr_of_mse(mse: float) -> float:
    return 10 * math.log10(1.0 / mse) if mse > 0 else float("inf")


class TrainLog:
    """``log.csv``: one row per (point, step, split); a resumed run drops rows after its checkpoint."""

    def __init__(self, path: str | Path, resume_step: int | None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keep: list[dict] = []
        if resume_step is not None and self.path.is_file():
            with open(self.path, newline="") as f:
                keep = [row for row in csv.DictReader(f) if int(row["step"]) <= resume_step]
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=LOG_COLUMNS)
            writer.writeheader()
            writer.writerows(keep)
        os.replace(tmp, self.path)
        self._file = open(self.path, "a", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=LOG_COLUMNS)

    def write(self, **row) -> None:
        self._writer.writerow({k: _fmt(row.get(k, "")) for k in LOG_COLUMNS})
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
