"""Small functions several test modules share (fixtures live in conftest.py)."""

import imagecodecs
import numpy as np
import torch


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """The image through libjpeg-turbo at `quality`: a real, graded distortion."""
    return imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(np.ascontiguousarray(rgb), level=quality))


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 1x3xHxW float in [0, 1], as the reference packages take images."""
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255
