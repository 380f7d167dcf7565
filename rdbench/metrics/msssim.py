"""MS-SSIM on RGB (Wang, Simoncelli & Bovik 2003), computed as piq 0.8.0 does.

For each of R, G, B separately (values scaled to [0, 1]):

    scale 1 ... M:  11x11 Gaussian window, sigma 1.5, 'valid' filtering (no padding)
                    c(j) = mean over the map of (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2)
                    between scales: 2x2 average, after replicating one row and one column at the
                    top-left when either side is odd (piq's rule)
    last scale:     s(M) = mean SSIM map (luminance x contrast-structure)
    MS-SSIM       = prod_{j<M} max(c(j), 0)^w_j  *  max(s(M), 0)^w_M

with C1 = (0.01)^2, C2 = (0.03)^2 and the paper's weights w = (0.0448, 0.2856, 0.3001, 0.2363,
0.1333). The RGB value is the mean of the three per-channel values (piq, and CompressAI's
"ms-ssim-rgb" via pytorch_msssim, do the same). Computed in float64 with NumPy/SciPy on the CPU.

Small images. Five scales need a short side of at least 161 px (the coarsest scale must still hold
the 11-px window: 10 * 2^(M-1) + 1). Smaller images use the largest M that fits, with the first M
weights renormalised to sum to 1 (= piq with ``scale_weights=w[:M]``), and a
:class:`ReducedScalesWarning` names M; :func:`scales_for` gives M for any size so the harness can
record it. Below 11 px (a 1x1 image included) SSIM itself is undefined and
:class:`~rdbench.metrics.common.ImageTooSmallError` is raised.
"""

from __future__ import annotations

import warnings

import numpy as np

from rdbench.metrics.base import metric
from rdbench.metrics.common import MetricWarning, require_min_side

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW, SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03


class ReducedScalesWarning(MetricWarning):
    """MS-SSIM used fewer than 5 scales because the image is small (see :func:`scales_for`)."""


def scales_for(height: int, width: int) -> int:
    """Number of MS-SSIM scales used for an image of this size: 5, fewer for small images, 0 below 11 px."""
    short = min(height, width)
    return max((m for m in range(1, len(WEIGHTS) + 1) if short >= (WINDOW - 1) * 2 ** (m - 1) + 1), default=0)


@metric("ms-ssim-rgb", higher_is_better=True, unit="", implementation="rdbench, numerically as piq 0.8.0",
        window=f"{WINDOW}x{WINDOW} Gaussian sigma {SIGMA}", scale_weights=list(WEIGHTS),
        colour="mean of per-channel R, G, B values",
        small_images="fewer scales, first M weights renormalised (< 161 px); error below 11 px")
def ms_ssim_rgb(reference: np.ndarray, distorted: np.ndarray) -> float:
    """MS-SSIM of two HxWx3 uint8 RGB images, in [0, 1], 1 for identical images."""
    h, w = reference.shape[:2]
    require_min_side("ms-ssim-rgb", reference.shape, WINDOW, f"SSIM's {WINDOW}x{WINDOW} window")
    scales = scales_for(h, w)
    if scales < len(WEIGHTS):
        warnings.warn(ReducedScalesWarning(
            f"ms-ssim-rgb: {w}x{h} image: {scales} of {len(WEIGHTS)} scales (5 need >= 161 px on the short "
            f"side), weights {WEIGHTS[:scales]} renormalised to sum to 1"), stacklevel=3)
    return float(ms_ssim_per_channel(reference, distorted, scales).mean())


def ms_ssim_per_channel(reference: np.ndarray, distorted: np.ndarray, scales: int = len(WEIGHTS)) -> np.ndarray:
    """Per-channel MS-SSIM (shape (3,)) with ``scales`` scales and renormalised weights (float64)."""
    x = reference.transpose(2, 0, 1).astype(np.float64) / 255.0  # 3 x H x W
    y = distorted.transpose(2, 0, 1).astype(np.float64) / 255.0
    window = _gaussian_1d()
    values = []
    for scale in range(scales):
        if scale > 0:
            x, y = _downsample(x), _downsample(y)
        ssim, cs = _ssim_and_cs(x, y, window)
        values.append(ssim if scale == scales - 1 else cs)
    weights = np.asarray(WEIGHTS[:scales]) / np.sum(WEIGHTS[:scales])
    stacked = np.maximum(np.stack(values), 0.0)  # (scales, 3); piq's relu: negative c(j) count as 0
    return np.prod(stacked ** weights[:, None], axis=0)


def _gaussian_1d() -> np.ndarray:
    g = np.exp(-((np.arange(WINDOW) - (WINDOW - 1) / 2) ** 2) / (2 * SIGMA**2))
    return g / g.sum()


def _downsample(img: np.ndarray) -> np.ndarray:
    """piq's step between scales: replicate one row and column at the top-left when either side is
    odd, then average 2x2 blocks (a trailing odd row/column is dropped)."""
    pad = max(img.shape[1] % 2, img.shape[2] % 2)
    img = np.pad(img, ((0, 0), (pad, 0), (pad, 0)), mode="edge")
    c, h, w = img.shape[0], img.shape[1] // 2, img.shape[2] // 2
    return img[:, : 2 * h, : 2 * w].reshape(c, h, 2, w, 2).mean(axis=(2, 4))


def _ssim_and_cs(x: np.ndarray, y: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean SSIM and mean contrast-structure per channel of 3xHxW arrays in [0, 1] -> two (3,) arrays."""
    from scipy.ndimage import correlate1d

    r = WINDOW // 2

    def blur(a):  # separable Gaussian, then keep the 'valid' part (no padding), as piq does
        return correlate1d(correlate1d(a, window, axis=1), window, axis=2)[:, r:-r, r:-r]

    mu_x, mu_y = blur(x), blur(y)
    var_x, var_y, cov = blur(x * x) - mu_x**2, blur(y * y) - mu_y**2, blur(x * y) - mu_x * mu_y
    c1, c2 = K1**2, K2**2
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    ssim = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs
    return ssim.mean(axis=(1, 2)), cs.mean(axis=(1, 2))
