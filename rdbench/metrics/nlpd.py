"""NLPD: normalised Laplacian pyramid distance (Laparra et al. 2016), as Ding et al. 2021 implement it.

Ding, Ma, Wang & Simoncelli, "Comparison of image quality models for optimization of image
processing systems" (IJCV 2021) released NLPD in IQA_pytorch (``dingkeyan93/IQA-optimization``);
the TreeNet paper reports NLPD from that implementation, on RGB. This module computes the same
quantity (float32, on the metrics device).

Colour: R, G and B in [0, 1] each get their own pyramid (the same filters for every channel), and
each level's distance pools the three channels together (no conversion to luma or grey).

Pyramid, for levels i = 1..6, starting from J = the image (2x3xHxW: reference and distorted):

    I    = (reflect-pad 2, then 5x5 filter h h^T, stride 2)(J)         h = (.05, .25, .4, .25, .05)
    U    = (reflect-pad 2, then h h^T)(bilinear 2x upsample of I, align_corners=True), resized
           to J's size by nearest neighbour when J has an odd side (drops the extra row/column)
    L_i  = J - U                                                      band-pass, same size as J
    N_i  = L_i / (sigma_i + (reflect-pad 1, then 3x3 filter P_i)(|L_i|))   divisive normalisation
    J    = I

with sigma = (0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782) and the 3x3 neighbour weights P_i of
Laparra et al. (fitted on the McGill dataset; below). Note that level 6 is a band-pass like the
others; the low-pass residual is not used (Ding's choice; the MATLAB code differs there).

    NLPD = mean over the 6 levels of  sqrt( mean over channels and pixels of (N_i(ref) - N_i(dist))^2 )

Lower is better, 0 for identical images; BD-rate uses 1 - NLPD. Reflection padding needs every
level to be at least 3 px, so images need 65 px on the short side; smaller ones raise
:class:`~rdbench.metrics.common.ImageTooSmallError`. Memory is about 10 float32 copies of the
image pair (2K: ~0.5 GB), so no tiling is needed (and the globally aligned upsampling would not
allow exact tiling).
"""

from __future__ import annotations

import numpy as np

from rdbench.metrics.base import metric
from rdbench.metrics.common import exact_float32, pair_tensor, require_min_side, torch_device

LEVELS = 6
LOWPASS_1D = (0.05, 0.25, 0.4, 0.25, 0.05)
SIGMAS = (0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782)
# Divisive-normalisation weights of the 4 neighbours (up, left, right, down) per level.
NEIGHBOURS = ((0.1011, 0.1493, 0.1460, 0.1015), (0.0757, 0.1986, 0.1846, 0.0837),
              (0.0477, 0.2138, 0.2243, 0.0467), (0.0, 0.2503, 0.2616, 0.0),
              (0.0, 0.2598, 0.2552, 0.0), (0.0, 0.2215, 0.0717, 0.0))
MIN_SIDE = 2 ** (LEVELS - 1) * 2 + 1  # level 6 must still be >= 3 px for reflection padding


@metric("nlpd", higher_is_better=False, unit="", implementation="rdbench, as Ding et al. 2021 IQA_pytorch NLPD",
        colour="RGB, one pyramid per channel, channels pooled per level", levels=LEVELS, sigmas=list(SIGMAS),
        lowpass=list(LOWPASS_1D), range="[0, 1] input")
def nlpd(reference: np.ndarray, distorted: np.ndarray) -> float:
    """NLPD between two HxWx3 uint8 RGB images (>= 0, 0 when identical; lower is better)."""
    import torch

    require_min_side("nlpd", reference.shape, MIN_SIDE, f"a {LEVELS}-level pyramid")
    device = torch_device()
    with torch.inference_mode(), exact_float32():
        levels = normalised_pyramid(pair_tensor(reference, distorted, device))
        per_level = [((n[0] - n[1]) ** 2).mean().sqrt() for n in levels]
        return float(torch.stack(per_level).mean())


def normalised_pyramid(images) -> list:
    """The 6 divisively normalised band-pass levels of Nx3xHxW images in [0, 1] (float32)."""
    import torch
    import torch.nn.functional as F

    channels = images.shape[1]
    h = torch.tensor(LOWPASS_1D, dtype=images.dtype, device=images.device)
    lowpass = torch.outer(h, h).expand(channels, 1, 5, 5)
    out = []
    j = images
    for level in range(LEVELS):
        low = F.conv2d(F.pad(j, [2] * 4, mode="reflect"), lowpass, stride=2, groups=channels)
        up = F.interpolate(low, scale_factor=2, mode="bilinear", align_corners=True)
        up = F.conv2d(F.pad(up, [2] * 4, mode="reflect"), lowpass, groups=channels)
        if up.shape[-2:] != j.shape[-2:]:  # odd side: Ding's nearest resize, which drops the extra row/column
            up = F.interpolate(up, size=j.shape[-2:], mode="nearest")
        band = j - up
        top, left, right, bottom = NEIGHBOURS[level]
        weights = torch.tensor([[0, top, 0], [left, 0, right], [0, bottom, 0]], dtype=images.dtype,
                               device=images.device).expand(channels, 1, 3, 3)
        energy = F.conv2d(F.pad(band.abs(), [1] * 4, mode="reflect"), weights, groups=channels)
        out.append(band / (SIGMAS[level] + energy))
        j = low
    return out
