"""PSNR on 8-bit RGB and on BT.709 luma, per image, in dB.

    psnr = 10 * log10(255^2 / MSE),   MSE over every sample of the image (all three channels for RGB)

Both are per-image values; the dataset aggregate is the mean of per-image PSNR (what CompressAI
and the TreeNet paper report), not the PSNR of the mean MSE.

Identical images (MSE = 0): the value is capped at :data:`PSNR_CAP_DB` = 100 dB instead of +inf,
so means stay finite. Below the cap nothing changes: 100 dB means an MSE under 2.55²·10⁻⁶, i.e.
fewer than one sample in 150,000 off by one, which is lossless for any practical purpose.
A capped value still pulls a dataset mean up, so a lossless codec shows up as a mean near the
cap: BD-rate is not meaningful on such points, and ``value == PSNR_CAP_DB`` marks them.
"""

from __future__ import annotations

import numpy as np

from rdbench.images import MATRICES
from rdbench.metrics.base import metric

PSNR_CAP_DB = 100.0


def psnr_from_mse(mse: float, data_range: float = 255.0) -> float:
    """10·log10(data_range² / mse) in dB, capped at :data:`PSNR_CAP_DB` (mse = 0 gives the cap)."""
    if mse < 0 or not np.isfinite(mse):
        raise ValueError(f"MSE must be finite and >= 0, got {mse}")
    floor = data_range**2 * 10 ** (-PSNR_CAP_DB / 10)
    return float(10.0 * np.log10(data_range**2 / max(mse, floor)))


@metric("psnr-rgb", higher_is_better=True, unit="dB", formula="10*log10(255^2/MSE) over R, G, B (8-bit)",
        cap_db=PSNR_CAP_DB, aggregate="mean of per-image dB")
def psnr_rgb(reference: np.ndarray, distorted: np.ndarray) -> float:
    """PSNR of two HxWx3 uint8 RGB images, MSE over all 3·H·W samples, data range 255."""
    diff = reference.astype(np.float64) - distorted.astype(np.float64)
    return psnr_from_mse(float(np.mean(diff * diff)))


def luma_bt709(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 R'G'B' -> HxW float64 Y' = 0.2126 R' + 0.7152 G' + 0.0722 B', on the 0..255 scale.

    Full range and not rounded: rounding Y' to 8 bits would add the same quantisation noise to both
    images and hide differences smaller than one code value.
    """
    kr, kb = MATRICES["bt709"]
    x = rgb.astype(np.float64)
    return kr * x[..., 0] + (1.0 - kr - kb) * x[..., 1] + kb * x[..., 2]


@metric("psnr-y", higher_is_better=True, unit="dB",
        formula="10*log10(255^2/MSE) on BT.709 luma, full range, unrounded float", cap_db=PSNR_CAP_DB,
        aggregate="mean of per-image dB")
def psnr_y(reference: np.ndarray, distorted: np.ndarray) -> float:
    """PSNR of the BT.709 luma (:func:`luma_bt709`) of two HxWx3 uint8 RGB images, data range 255."""
    diff = luma_bt709(reference) - luma_bt709(distorted)
    return psnr_from_mse(float(np.mean(diff * diff)))
