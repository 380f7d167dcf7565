"""Helpers shared by the metric modules: size limits, the compute device, image pairs as tensors."""

from __future__ import annotations

import contextlib
import os

import numpy as np


class MetricWarning(UserWarning):
    """A caveat about one value (it stands); the harness keeps it in the cell under ``metric_notes``."""


class ImageTooSmallError(ValueError):
    """The image is smaller than the metric's definition allows (e.g. MS-SSIM's 11x11 window).

    The harness can catch it per metric and record the metric as missing for that image, with
    this message as the reason; it is never turned into a number.
    """


def require_min_side(name: str, shape: tuple[int, ...], min_side: int, why: str) -> None:
    """Raise :class:`ImageTooSmallError` when the short side of an HxW(x3) ``shape`` is < ``min_side``."""
    h, w = shape[:2]
    if min(h, w) < min_side:
        raise ImageTooSmallError(f"{name}: a {w}x{h} image is too small: {why} needs at least {min_side} px "
                                 f"on the short side; leave {name} out for this dataset or use psnr-rgb")


def torch_device():
    """The device metrics run on: ``$RDBENCH_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``) or CUDA when present."""
    import torch

    wanted = os.environ.get("RDBENCH_DEVICE")
    if wanted:
        try:
            device = torch.device(wanted)
        except RuntimeError as exc:
            raise ValueError(f"RDBENCH_DEVICE={wanted!r} is not a torch device (try cpu or cuda)") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"RDBENCH_DEVICE={wanted!r} but torch sees no CUDA device; unset it or use cpu")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pair_tensor(reference: np.ndarray, distorted: np.ndarray, device=None, dtype=None):
    """Two HxWx3 uint8 images -> one 2x3xHxW tensor in [0, 1] (index 0 = reference)."""
    return image_tensor(np.stack([reference, distorted]), device, dtype)


def image_tensor(images: np.ndarray, device=None, dtype=None):
    """An HxWx3 (or NxHxWx3) uint8 array -> a 1x3xHxW (Nx3xHxW) tensor in [0, 1]."""
    import torch

    batch = torch.from_numpy(images if images.ndim == 4 else images[None]).to(device or "cpu")
    return batch.permute(0, 3, 1, 2).to(dtype or torch.float32).div_(255.0)


@contextlib.contextmanager
def exact_float32():
    """No TF32 inside: cuDNN may otherwise run float32 convolutions as TF32 (10-bit mantissa) on
    Ampere and later GPUs, so values would depend on the GPU model. No effect on CPU."""
    import torch

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
