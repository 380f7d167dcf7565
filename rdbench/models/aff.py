"""Attentional feature fusion (AFF) and its iterative form (iAFF).

Dai, Gieseke, Oehmcke, Wu, Barnard: "Attentional Feature Fusion", WACV 2021 (arXiv 2009.14082).
Written from the paper's equations; TreeNet uses these blocks to merge two feature maps of the same
shape (sibling leaves in g_a, neighbouring nodes in g_s).

Multi-scale channel attention ``A(t) = sigmoid(L(t) + G(t))`` over a B x C x H x W map ``t``:

* ``L`` (local):  conv1x1 C -> C/r, BatchNorm, ReLU, conv1x1 C/r -> C, BatchNorm   (per pixel)
* ``G`` (global): the same layers after ``AdaptiveAvgPool2d(1)``                     (per image)

For inputs ``x`` and ``y`` (the paper's X and Y):

* AFF:   ``w = A1(x + y)``; ``out = 2 x w + 2 y (1 - w)`` (the factor 2 keeps the scale of a sum).
* iAFF:  ``w = A1(x + y)``; ``t = x w + y (1 - w)``; ``w2 = A2(t)``; ``out = x w2 + y (1 - w2)``.
  A2 has its own local *and* global branch (the authors' reference PyTorch code reuses the first
  global branch in the second stage; the paper does not, and neither does this module).

Parameters for C = 32, r = 4: 632 per attention (two convs with bias, two BatchNorms), so AFF has
1,264 and iAFF 2,528. BatchNorm makes the output depend on the batch in training mode: learned codecs
built on these blocks encode and decode in ``eval()`` mode only.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

FUSIONS = ("iaff", "aff")


def _attention_branch(channels: int, r: int, pooled: bool) -> nn.Sequential:
    """conv1x1 -> BN -> ReLU -> conv1x1 -> BN, optionally after global average pooling."""
    hidden = max(channels // r, 1)
    layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(1)] if pooled else []
    layers += [
        nn.Conv2d(channels, hidden, kernel_size=1),
        nn.BatchNorm2d(hidden),
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, channels, kernel_size=1),
        nn.BatchNorm2d(channels),
    ]
    return nn.Sequential(*layers)


class MultiScaleChannelAttention(nn.Module):
    """``sigmoid(L(t) + G(t))``: B x C x H x W -> weights in (0, 1) of the same shape."""

    def __init__(self, channels: int, r: int = 4):
        super().__init__()
        self.local_att = _attention_branch(channels, r, pooled=False)
        self.global_att = _attention_branch(channels, r, pooled=True)

    def forward(self, t: Tensor) -> Tensor:
        return torch.sigmoid(self.local_att(t) + self.global_att(t))  # B x C x 1 x 1 broadcasts


class AFF(nn.Module):
    """Attentional feature fusion of two B x C x H x W maps into one of the same shape."""

    def __init__(self, channels: int, r: int = 4):
        super().__init__()
        self.att = MultiScaleChannelAttention(channels, r)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        w = self.att(x + y)
        return 2 * x * w + 2 * y * (1 - w)


class IAFF(nn.Module):
    """Iterative attentional feature fusion: a second attention stage on the first fusion's output."""

    def __init__(self, channels: int, r: int = 4):
        super().__init__()
        self.att = MultiScaleChannelAttention(channels, r)
        self.att2 = MultiScaleChannelAttention(channels, r)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        w = self.att(x + y)
        t = x * w + y * (1 - w)
        w2 = self.att2(t)
        return x * w2 + y * (1 - w2)


def make_fusion(kind: str, channels: int, r: int) -> nn.Module:
    """A fusion block by name: "iaff" (default of TreeNet) or "aff"."""
    if kind == "iaff":
        return IAFF(channels, r)
    if kind == "aff":
        return AFF(channels, r)
    raise ValueError(f"unknown fusion {kind!r}; choose one of {', '.join(FUSIONS)}")
