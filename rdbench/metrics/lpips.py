"""LPIPS v0.1 (Zhang et al. 2018) with pinned offline weights; variants ``vgg`` (default) and ``alex``.

One metric, ``lpips``, with the trunk as its variant: ``vgg`` is what piq's ``LPIPS`` computes and
what the TreeNet paper reports; ``alex`` is the lpips package's default, reported by many other
papers. Both are the lpips==0.1.4 formulation:

    x in [0, 1] -> (2x - 1 - shift) / scale                  shift, scale: lpips' ScalingLayer
    for each tap l (5 per trunk, see rdbench.metrics.networks):
        f^ = f / (||f||_channels + 1e-10)                    unit length at each position
        d_l = mean over positions of  sum_c w_lc (f^_ref - f^_dist)_c^2     w_l: lpips' linear layer
    LPIPS = sum_l d_l

piq's LPIPS normalises with the ImageNet mean/std, which is the same affine map ((2x - 1 + 0.030) /
0.458 = (x - 0.485) / 0.229, ...), and uses the same VGG taps and linear weights, so the ``vgg``
variant is piq's number (its own weight file cannot be fetched here; the lpips weights are used).

Lower is better, 0 for identical images; BD-rate uses 1 - LPIPS. Images are compared at full
resolution (no resize). Runs on the metrics device (``RDBENCH_DEVICE`` or CUDA when present), in float32 with TF32 disabled, one
image at a time, so the reference's taps (:func:`reference_taps`) can be computed once and reused for
every reconstruction (``rdbench.metrics.reference``); large images are the pair as one batch, tiled exactly (:func:`rdbench.metrics.networks.tiled_taps`). Minimum size: 16 px (vgg, four
2x poolings) or 31 px (alex) on the short side.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from rdbench.metrics import weights as pinned_weights
from rdbench.metrics.base import metric
from rdbench.metrics import networks
from rdbench.metrics.common import exact_float32, image_tensor, pair_tensor, require_min_side, torch_device
from rdbench.metrics.networks import TrunkSpec, build_trunk, tiled_taps

VARIANTS = {"vgg": ("vgg16", "lpips-vgg-lin", 16), "alex": ("alexnet", "lpips-alex-lin", 31)}
EPS = 1e-10


def _setup(reference: np.ndarray, variant: str):
    if variant not in VARIANTS:
        raise ValueError(f"lpips: unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    arch, lin_name, min_side = VARIANTS[variant]
    require_min_side(f"lpips ({variant})", reference.shape, min_side, f"the {arch} trunk")
    device, cache = torch_device(), pinned_weights.weights_dir()
    return device, build_trunk(TrunkSpec(arch), device, cache), _linear_weights(lin_name, str(device), str(cache))


def _unit(tap):
    """Each position's feature vector (over channels) scaled to unit length; N x C x h x w."""
    return tap / torch.linalg.vector_norm(tap, dim=1, keepdim=True).add_(EPS)


def _unit_taps(trunk, image: np.ndarray, device):
    """The trunk's unit-length taps of one image, C x h x w each."""
    for tap in trunk.taps(image_tensor(image, device)):
        yield _unit(tap)[0]


def reference_taps(reference: np.ndarray, variant: str = "vgg") -> dict | None:
    """The reference's unit-length taps (``tap0`` ... ``tap4``), for images computed untiled; else None."""
    device, trunk, _ = _setup(reference, variant)
    if reference.shape[0] * reference.shape[1] > networks.MAX_UNTILED_PIXELS:
        return None
    with torch.inference_mode(), exact_float32():
        return {f"tap{k}": t for k, t in enumerate(_unit_taps(trunk, reference, device))}


@metric("lpips", higher_is_better=False, unit="", variants=tuple(VARIANTS), default_variant="vgg",
        features=reference_taps, implementation="rdbench, lpips 0.1.4 formulation (v0.1 linear layers)",
        weights=pinned_weights.pinned("vgg16", "alexnet", "lpips-vgg-lin", "lpips-alex-lin"))
def lpips(reference: np.ndarray, distorted: np.ndarray, variant: str = "vgg", features: dict | None = None) -> float:
    """LPIPS between two HxWx3 uint8 RGB images (>= 0; lower is better).

    ``features``: :func:`reference_taps` of `reference`, when already computed (same value either way)."""
    device, trunk, lins = _setup(reference, variant)
    sums = torch.zeros(len(lins), dtype=torch.float64)
    counts = torch.zeros(len(lins), dtype=torch.float64)
    with torch.inference_mode(), exact_float32():
        if reference.shape[0] * reference.shape[1] <= networks.MAX_UNTILED_PIXELS:  # one image at a time
            refs = (features[f"tap{k}"] for k in range(len(lins))) if features else _unit_taps(trunk, reference, device)
            tiles = [zip(refs, _unit_taps(trunk, distorted, device))]
        else:  # the pair as one batch of 2, tile by tile
            tiles = (((u[0], u[1]) for u in map(_unit, taps))
                     for taps in tiled_taps(trunk, pair_tensor(reference, distorted, device)))
        for pairs in tiles:
            for layer, ((ref, dist), lin) in enumerate(zip(pairs, lins)):
                if ref.stride() != dist.stride():  # loaded features are NCHW; the sums' order follows the layout
                    ref = torch.empty_like(dist).copy_(ref)
                diff = (ref - dist).square_()  # one C x h x w buffer
                per_channel = diff.sum(dim=(1, 2)).double()  # float32 cascade sum, ~1e-7 relative
                sums[layer] += (per_channel * lin.double()).sum().cpu()
                counts[layer] += ref.shape[-2] * ref.shape[-1]
                del diff, ref, dist  # free before the trunk computes the next tap
    return float((sums / counts).sum())


@functools.lru_cache(maxsize=4)
def _linear_weights(name: str, device: str, cache: str) -> list:
    tensors = pinned_weights.load(name, Path(cache))
    return [tensors[f"lin{i}"].reshape(-1).to(device) for i in range(5)]
