"""The rate-distortion loss of the TreeNet paper (section III-A) and a differentiable MS-SSIM.

    loss = bpp + lambda1 * 255^2 * MSE + lambda2 * (1 - MS-SSIM)

* ``bpp``: sum over every latent (y_i and z_i of all four TreeNet bottlenecks, or whatever a model
  returns in ``likelihoods``) of ``-log2(likelihood)``, divided by the number of pixels B*H*W of the
  batch. In training the likelihoods are those of the noisy latents, so this is an estimate.
* ``MSE``: mean over batch, channels and pixels of ``(x_hat - x)^2`` with both in [0, 1]. The 255^2
  factor puts it on the 8-bit scale, which is what CompressAI's zoo lambdas assume (their
  ``lambda * 255^2 * MSE + bpp``); without it the paper's lambda1 = 0.01 would be negligible.
* ``MS-SSIM``: Wang et al. 2003 on RGB in [0, 1] (11-tap Gaussian, sigma 1.5, K = (0.01, 0.03),
  weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 2x2 average pooling between scales), computed per
  image and channel and averaged. x_hat is *not* clamped, so the gradient never vanishes at 0 or 1.

Two documented departures from the reference MS-SSIM, both for training only:
  * contrast and SSIM terms are clamped below at ``MSSSIM_FLOOR`` = 1e-4 instead of at 0 (ReLU):
    ``t ** 0.0448`` has an infinite derivative at 0, which turns an unlucky early batch into NaNs;
  * a crop too small for five scales (the smallest scale must still be >= 11 px) uses as many scales as fit, with the first weights renormalised to sum to 1
    (``ms_ssim_levels`` says how many: five need a short side >= 161 px, as in the reference code).
    The paper's 256 x 256 crops use all five.
The measurement metric ``ms-ssim-rgb`` (rdbench.metrics) is separate and follows the reference.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor

MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MSSSIM_WINDOW = 11
MSSSIM_SIGMA = 1.5
MSSSIM_FLOOR = 1e-4


def ms_ssim_levels(height: int, width: int, window: int = MSSSIM_WINDOW) -> int:
    """How many MS-SSIM scales an HxW image supports (each scale needs a side >= the window)."""
    levels, side = 0, min(height, width)
    while levels < len(MSSSIM_WEIGHTS) and side >= window:
        levels += 1
        side = (side + 1) // 2
    if levels == 0:
        raise ValueError(f"MS-SSIM needs images of at least {window}x{window} px, got {height}x{width}; "
                         "use a larger --crop")
    return levels


def _gaussian_window(window: int, sigma: float, device, dtype) -> Tensor:
    """The normalised 1-D Gaussian, built on the device: no host-to-device copy (CUDA-graph safe)."""
    coords = torch.arange(window, dtype=torch.float64, device=device) - (window - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return (g / g.sum()).to(dtype)


def _blur(x: Tensor, g: Tensor) -> Tensor:
    """Separable 'valid' Gaussian filter of a Bx C x H x W tensor, per channel."""
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ms_ssim(x: Tensor, y: Tensor, data_range: float = 1.0, floor: float = MSSSIM_FLOOR) -> Tensor:
    """Differentiable MS-SSIM of two Bx3xHxW float tensors, one value per image (shape B).

    Computed in float32 whatever the input dtype. See the module docstring for the conventions.
    """
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"ms_ssim wants two BxCxHxW tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    x, y = x.float(), y.float()
    levels = ms_ssim_levels(x.shape[-2], x.shape[-1])
    w = [v / sum(MSSSIM_WEIGHTS[:levels]) for v in MSSSIM_WEIGHTS[:levels]]
    g = _gaussian_window(MSSSIM_WINDOW, MSSSIM_SIGMA, x.device, x.dtype)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    log_total = x.new_zeros(x.shape[:2])
    for level in range(levels):
        mu_x, mu_y = _blur(x, g), _blur(y, g)
        var_x = _blur(x * x, g) - mu_x**2
        var_y = _blur(y * y, g) - mu_y**2
        cov = _blur(x * y, g) - mu_x * mu_y
        cs_map = (2 * cov + c2) / (var_x + var_y + c2)
        if level < levels - 1:
            term = cs_map.mean(dim=(-2, -1))
            pad = [s % 2 for s in x.shape[-2:]]
            x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
        else:
            ssim_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs_map
            term = ssim_map.mean(dim=(-2, -1))
        log_total = log_total + w[level] * torch.log(term.clamp_min(floor))
    return log_total.exp().mean(dim=1)


def _flatten(likelihoods: Any) -> Iterable[Tensor]:
    """Every tensor in a (possibly nested) dict/list of likelihoods, in a fixed order."""
    if isinstance(likelihoods, Tensor):
        yield likelihoods
    elif isinstance(likelihoods, dict):
        for key in likelihoods:
            yield from _flatten(likelihoods[key])
    elif isinstance(likelihoods, (list, tuple)):
        for item in likelihoods:
            yield from _flatten(item)
    else:
        raise TypeError(f"likelihoods must be tensors in dicts/lists, got {type(likelihoods).__name__}")


def bits_per_pixel(likelihoods: Any, num_pixels: int) -> Tensor:
    """Estimated rate: sum of -log2(likelihood) over every latent element, divided by `num_pixels`."""
    total = sum(torch.log(t.float()).sum() for t in _flatten(likelihoods))
    return total / (-math.log(2) * num_pixels)


class RateDistortionLoss(torch.nn.Module):
    """``bpp + lambda1 * 255^2 * MSE + lambda2 * (1 - MS-SSIM)`` of a CompressAI forward output.

    ``forward(output, x)`` takes the model's ``{"x_hat", "likelihoods"}`` and the Bx3xHxW target in
    [0, 1] and returns a dict of 0-d float32 tensors: ``loss``, ``bpp``, ``mse`` (on [0, 1]) and
    ``ms_ssim``. With ``lambda2 == 0`` MS-SSIM is still computed (without gradient) so that every
    log has the same columns. Nothing here synchronises with the
    device, so the loss can sit inside a CUDA graph.
    """

    def __init__(self, lambda1: float, lambda2: float):
        super().__init__()
        for name, value in (("lambda1", lambda1), ("lambda2", lambda2)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if lambda1 == 0 and lambda2 == 0:
            raise ValueError("lambda1 and lambda2 are both 0: the loss would only minimise the rate; "
                             "set --lambda1 and/or --lambda2")
        self.lambda1, self.lambda2 = float(lambda1), float(lambda2)

    def forward(self, output: dict, x: Tensor) -> dict[str, Tensor]:
        x_hat = output["x_hat"].float()
        b, _, h, w = x.shape
        bpp = bits_per_pixel(output["likelihoods"], b * h * w)
        mse = F.mse_loss(x_hat, x.float())
        if self.lambda2 > 0:
            msssim = ms_ssim(x_hat, x).mean()
        else:
            with torch.no_grad():
                msssim = ms_ssim(x_hat.detach(), x).mean()
        loss = bpp + self.lambda1 * 255.0**2 * mse
        if self.lambda2 > 0:
            loss = loss + self.lambda2 * (1.0 - msssim)
        return {"loss": loss, "bpp": bpp, "mse": mse, "ms_ssim": msssim}
