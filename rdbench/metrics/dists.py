"""DISTS (Ding, Ma, Wang & Simoncelli 2020) with pinned offline weights; variants ``official``, ``piq``.

``piq`` (default) is what the TreeNet paper computed: piq 0.8.0's ``DISTS``, which first resizes
bilinearly (no antialiasing, ``align_corners=False``) to 256 px on the short side whenever that side
exceeds 256 px, then applies the formulation below. ``official`` is the authors' DISTS_pytorch==0.1
formulation at full resolution (no resize), for numbers that keep detail above 256 px:

    taps t = 0..5: the image x in [0, 1] itself, then VGG16 relu1_2 ... relu5_3 of (x - mean) / std
                   (ImageNet mean/std), max pooling replaced by L2 pooling (networks.L2Pool)
    per tap and channel, over all positions:
        S1 = (2 mu_x mu_y + c) / (mu_x^2 + mu_y^2 + c)                  "structure" of means
        S2 = (2 cov_xy + c) / (var_x + var_y + c)                       "texture" of variances
    DISTS = 1 - sum over taps and channels of (alpha S1 + beta S2) / (sum alpha + sum beta)

with c = 1e-6, variances and covariance over all positions of the map (population, 1/n), and
alpha, beta (1475 = 3 + 64 + 128 + 256 + 512 + 512 channel weights each) from DISTS_pytorch.
DISTS_pytorch itself only resizes when its caller asks (``prepare_image(resize=True)``). The default
follows the paper so that its tables can be regenerated; the manifest records the variant of every value.

Lower is better, 0 for identical images; BD-rate uses 1 - DISTS. Runs on the metrics device in
float32 (TF32 off), the pair as one batch: always, because at piq's 256 px size oneDNN's convolutions
give other float32 sums for a batch of 1 than for a batch of 2, so computing the reference's taps once
(as LPIPS does, where they are the same) would change the committed values in their last digits. The statistics are per-tile sums (float32 cascade sums,
~1e-7 relative) totalled in float64, so large images are tiled exactly
(:func:`rdbench.metrics.networks.tiled_taps`). Any size works (L2 pooling rounds up); a 1x1 image
gives a value computed from single-position maps.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rdbench.metrics import weights as pinned_weights
from rdbench.metrics.base import metric
from rdbench.metrics.common import exact_float32, pair_tensor, torch_device
from rdbench.metrics.networks import TrunkSpec, build_trunk, tiled_taps

VARIANTS = ("piq", "official")
SPEC = TrunkSpec("vgg16", pooling="l2", input_transform="imagenet", tap_input=True)
CHANNELS = (3, 64, 128, 256, 512, 512)
C = 1e-6
PIQ_SIDE = 256


@metric("dists", higher_is_better=False, unit="", variants=VARIANTS, default_variant="piq",
        implementation="rdbench, DISTS_pytorch 0.1 formulation; 'piq' resizes like piq 0.8.0",
        weights=pinned_weights.pinned("vgg16", "dists-alpha-beta"))
def dists(reference: np.ndarray, distorted: np.ndarray, variant: str = "piq") -> float:
    """DISTS between two HxWx3 uint8 RGB images (about 0..1; lower is better)."""
    if variant not in VARIANTS:
        raise ValueError(f"dists: unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    device = torch_device()
    cache = pinned_weights.weights_dir()
    trunk = build_trunk(SPEC, device, cache)
    alphas, betas = _alpha_beta(str(device), str(cache))
    with torch.inference_mode(), exact_float32():
        images = pair_tensor(reference, distorted, device)
        if variant == "piq" and min(images.shape[-2:]) > PIQ_SIDE:
            images = F.interpolate(images, scale_factor=PIQ_SIDE / min(images.shape[-2:]), mode="bilinear",
                                   recompute_scale_factor=False, align_corners=False)
        # per tap: sums over positions of x, y, x^2, y^2, xy for each channel (5 x C, float64)
        sums = [torch.zeros(5, c, dtype=torch.float64, device=device) for c in CHANNELS]
        counts = [0] * len(CHANNELS)
        for taps in tiled_taps(trunk, images):
            for k, tap in enumerate(taps):
                sums[k] += _moment_sums(tap[0], tap[1])
                counts[k] += tap.shape[-2] * tap.shape[-1]
        score = torch.zeros((), dtype=torch.float64, device=device)
        for s, n, alpha, beta in zip(sums, counts, alphas, betas):
            mx, my, xx, yy, xy = s / n
            s1 = (2 * mx * my + C) / (mx**2 + my**2 + C)
            s2 = (2 * (xy - mx * my) + C) / ((xx - mx**2) + (yy - my**2) + C)
            score += (alpha * s1).sum() + (beta * s2).sum()
    return float(1.0 - score)


def _moment_sums(x, y):
    """Per-channel sums over positions of x, y, x^2, y^2, xy for two C x h x w maps -> 5 x C float64.

    Products in float32, one C x h x w temporary at a time; torch's float32 sums are cascaded
    (~1e-7 relative error), and totals over tiles and the final formula run in float64.
    """
    dims = (1, 2)
    return torch.stack([x.sum(dims), y.sum(dims), (x * x).sum(dims), (y * y).sum(dims),
                        (x * y).sum(dims)]).double()


@functools.lru_cache(maxsize=4)
def _alpha_beta(device: str, cache: str) -> tuple[list, list]:
    """alpha and beta, normalised by their joint sum and split per tap (float64)."""
    tensors = pinned_weights.load("dists-alpha-beta", Path(cache))
    alpha, beta = (tensors[k].reshape(-1).double().to(device) for k in ("alpha", "beta"))
    total = alpha.sum() + beta.sum()
    return list((alpha / total).split(CHANNELS)), list((beta / total).split(CHANNELS))
