"""TreeNet's transforms for coding on a CPU: the same functions as the modules, fewer passes over memory.

TreeNet's g_s spends its MACs in 32-channel convolutions at high resolution (the last
ResidualBlockUpsample alone is 57 % of them, at full image size). Run module by module, a 768 x 512
image makes every intermediate a fresh 50 MB tensor: each costs more in page faults and memory traffic
than its arithmetic, and the 32-channel convolutions run at a third of the speed of the hyperprior's
192-channel ones. This module computes the same functions in eval mode, from the modules' weights
read at call time (nothing is cached, nothing in the state dict changes meaning):

* ``channels_last`` everywhere (oneDNN's fast layout for narrow convolutions);
* ResidualBlockUpsample: its two sub-pixel convolutions read the same input, so they run as one
  convolution with both weight sets (C_in -> 8C), output channels reordered so that the pixel
  shuffle is a copy of contiguous runs; the block runs in row strips (with a halo of recomputed
  rows and zero rows at the image border, as the modules' zero padding) so every intermediate stays
  in cache; IGDN and the residual add are one ``addcmul``;
* the last RBU and g_s's final 3 x 3 convolution run strip by strip together;
* the fusion blocks (AFF / iAFF) with BatchNorm folded into the 1 x 1 convolutions, the global
  branch added to the local branch as a bias, and ``x w + y (1 - w)`` as ``y + (x - y) w``.

The results equal the modules' eval forward up to float rounding (other summation orders and fused
multiply-adds; measured max abs difference on Kodak in the README). Only the transforms g_a and g_s
go through here: the entropy models (hyper-synthesis, context, entropy parameters) run CompressAI's
modules unchanged, identically in encoder and decoder, so decoding stays bit-exact. The one change on
the entropy side is integer-exact: :class:`IndexedGaussianConditional` finds each scale's table index
with one ``bucketize`` instead of CompressAI's loop of 63 comparisons (the same integers, so the same
bitstream; 8 calls per image, about 5 % of TreeNet's encode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from compressai.entropy_models import GaussianConditional
from torch import Tensor, nn

LEAKY_SLOPE = 0.01  # nn.LeakyReLU's default, used by CompressAI's residual blocks
STRIP_POSITIONS = 8192  # input positions per strip (rows x width): ~8 MB of intermediates at 32 channels

CL = torch.channels_last


def _cl(x: Tensor) -> Tensor:
    return x.contiguous(memory_format=CL)


# ---------------------------------------------------------------------------- weights, folded


def _gdn(gdn: nn.Module) -> tuple[Tensor, Tensor]:
    """GDN's effective (gamma as C x C x 1 x 1, beta), as its forward computes them."""
    beta = gdn.beta_reparam(gdn.beta)
    gamma = gdn.gamma_reparam(gdn.gamma)
    c = gamma.shape[0]
    return gamma.reshape(c, c, 1, 1).contiguous(), beta.contiguous()


def _fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """Weight and bias of ``bn(conv(x))`` in eval mode as one convolution."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return conv.weight * scale.reshape(-1, 1, 1, 1), (bias - bn.running_mean) * scale + bn.bias


def _subpel_order(weight: Tensor, bias: Tensor, r: int = 2) -> tuple[Tensor, Tensor]:
    """PixelShuffle reads channel c*r*r + a*r + b into (c, r*i + a, r*j + b); reorder to (a, b, c)."""
    oc, cin, kh, kw = weight.shape
    c = oc // (r * r)
    w = weight.reshape(c, r, r, cin, kh, kw).permute(1, 2, 0, 3, 4, 5).reshape(oc, cin, kh, kw)
    return w, bias.reshape(c, r, r).permute(1, 2, 0).reshape(oc)


@dataclass(frozen=True)
class _Upsample:
    """A CompressAI ResidualBlockUpsample(C_in, C, 2), weights prepared."""

    channels: int
    weight: Tensor  # 8C x C_in x 3 x 3: [sub-pixel branch (a, b, c) | upsample branch (a, b, c)]
    bias: Tensor
    conv_weight: Tensor
    conv_bias: Tensor
    gamma: Tensor
    beta: Tensor

    @classmethod
    def of(cls, block: nn.Module) -> "_Upsample":
        if block.subpel_conv[1].upscale_factor != 2 or block.upsample[1].upscale_factor != 2:
            raise ValueError("the fast path handles ResidualBlockUpsample with upsample=2 only")
        w1, b1 = _subpel_order(block.subpel_conv[0].weight, block.subpel_conv[0].bias)
        w2, b2 = _subpel_order(block.upsample[0].weight, block.upsample[0].bias)
        gamma, beta = _gdn(block.igdn)
        return cls(block.conv.out_channels, _cl(torch.cat((w1, w2))), torch.cat((b1, b2)),
                   _cl(block.conv.weight), block.conv.bias, gamma, beta)


def _rows(x: Tensor, lo: int, hi: int) -> Tensor:
    """Rows [lo, hi) of a B x C x H x W map, zero rows where they fall outside [0, H)."""
    a, b = max(lo, 0), min(hi, x.shape[2])
    part = x[:, :, a:b]
    if (a, b) == (lo, hi):
        return part
    return _cl(F.pad(part, (0, 0, a - lo, hi - b)))


def _upsample_strip(p: _Upsample, x: Tensor, lo: int, hi: int, halo: int, out: Tensor | None) -> Tensor:
    """The block's output rows [2 lo - halo, 2 hi + halo) for input rows [lo, hi) (into ``out`` if given).

    Rows outside the image are zero (what the next zero-padded convolution must see)."""
    n, _, height, width = x.shape
    c = p.channels
    h = F.conv2d(_rows(x, lo - 2, hi + 2), p.weight, p.bias, padding=(0, 1))  # input rows [lo - 1, hi + 1)
    rows = h.shape[2]
    src = h.permute(0, 2, 3, 1).reshape(n, rows, width, 2, 2, 2, c).permute(0, 3, 1, 4, 2, 5, 6)
    both = torch.empty((n, 2, rows, 2, width, 2, c), dtype=h.dtype).copy_(src)  # the two pixel shuffles
    both = both.view(n, 2, 2 * rows, 2 * width, c).permute(0, 1, 4, 2, 3)  # B x 2 x C x 2rows x 2W, NHWC
    act, identity = both[:, 0], both[:, 1]
    F.leaky_relu_(act, LEAKY_SLOPE)
    top, bottom = 2 * (lo - 1), 2 * (hi + 1)  # the high-resolution rows of ``act``
    if top < 0:
        act[:, :, :-top].zero_()
    if bottom > 2 * height:
        act[:, :, act.shape[2] - (bottom - 2 * height):].zero_()
    a, b = 1 - halo, act.shape[2] - 1 + halo  # act rows feeding output rows [2 lo - halo, 2 hi + halo)
    y = F.conv2d(act[:, :, a:b], p.conv_weight, p.conv_bias, padding=(0, 1))
    norm = F.conv2d(y * y, p.gamma, p.beta).sqrt_()
    out = y if out is None else out
    torch.addcmul(identity[:, :, a + 1:b - 1], y, norm, out=out)  # inverse GDN + the residual
    first, last = 2 * lo - halo, 2 * hi + halo
    if first < 0:
        out[:, :, :-first].zero_()
    if last > 2 * height:
        out[:, :, out.shape[2] - (last - 2 * height):].zero_()
    return out


def _strip_rows(width: int) -> int:
    return max(2, STRIP_POSITIONS // max(width, 1))


def upsample(block: nn.Module, x: Tensor) -> Tensor:
    """ResidualBlockUpsample(C_in, C, 2) of x (B x C_in x H x W) -> B x C x 2H x 2W, channels_last."""
    p = _Upsample.of(block)
    x = _cl(x)
    n, _, height, width = x.shape
    out = torch.empty((n, p.channels, 2 * height, 2 * width), dtype=x.dtype, memory_format=CL)
    step = _strip_rows(width)
    for lo in range(0, height, step):
        hi = min(lo + step, height)
        _upsample_strip(p, x, lo, hi, 0, out[:, :, 2 * lo:2 * hi])
    return out


def upsample_then_conv(block: nn.Module, conv: nn.Conv2d, x: Tensor) -> Tensor:
    """``conv(block(x))`` for a 3 x 3 ``conv`` with padding 1, strip by strip: the block's output never
    exists whole. Returns B x conv.out_channels x 2H x 2W."""
    if conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.stride != (1, 1):
        raise ValueError("upsample_then_conv wants a 3x3 convolution with stride 1 and padding 1")
    p = _Upsample.of(block)
    x = _cl(x)
    n, _, height, width = x.shape
    out = torch.empty((n, conv.out_channels, 2 * height, 2 * width), dtype=x.dtype, memory_format=CL)
    weight = _cl(conv.weight)
    step = _strip_rows(width)
    for lo in range(0, height, step):
        hi = min(lo + step, height)
        feat = _upsample_strip(p, x, lo, hi, 1, None)
        out[:, :, 2 * lo:2 * hi] = F.conv2d(feat, weight, conv.bias, padding=(0, 1))
    return out


# ------------------------------------------------------------------------------ fusion blocks


def _branch(seq: nn.Sequential) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(w1, b1, w2, b2) of conv1x1 -> BN -> ReLU -> conv1x1 -> BN with both BatchNorms folded."""
    layers = [m for m in seq if not isinstance(m, nn.AdaptiveAvgPool2d)]
    conv1, bn1, _, conv2, bn2 = layers
    w1, b1 = _fold_bn(conv1, bn1)
    w2, b2 = _fold_bn(conv2, bn2)
    return w1, b1, w2, b2


def attention(att: nn.Module, t: Tensor) -> Tensor:
    """MultiScaleChannelAttention: sigmoid(L(t) + G(t)), the global branch added as the last bias."""
    lw1, lb1, lw2, lb2 = _branch(att.local_att)
    gw1, gb1, gw2, gb2 = _branch(att.global_att)
    n, c = t.shape[:2]
    pooled = t.mean(dim=(2, 3))  # B x C
    g = F.linear(F.relu(F.linear(pooled, gw1.flatten(1), gb1)), gw2.flatten(1), gb2)  # B x C
    hidden = F.relu_(F.conv2d(t, _cl(lw1), lb1))
    if n == 1:
        return F.conv2d(hidden, _cl(lw2), lb2 + g[0]).sigmoid_()
    return F.conv2d(hidden, _cl(lw2), lb2).add_(g.reshape(n, c, 1, 1)).sigmoid_()


def fuse(block: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """An AFF or iAFF block (rdbench.models.aff) of two maps of one shape, channels_last."""
    x, y = _cl(x), _cl(y)
    diff = x - y
    w = attention(block.att, x + y)
    if not hasattr(block, "att2"):  # AFF: 2 x w + 2 y (1 - w) = 2 (y + (x - y) w)
        return torch.addcmul(y, diff, w).mul_(2)
    t = torch.addcmul(y, diff, w)
    w2 = attention(block.att2, t)
    return torch.addcmul(y, diff, w2, out=t)


# ----------------------------------------------------------------------------------- g_a, g_s


def strided_block(block: nn.Module, x: Tensor) -> Tensor:
    """CompressAI ResidualBlockWithStride in channels_last with GDN and the residual add fused."""
    x = _cl(x)
    c1, c2 = block.conv1, block.conv2
    h = F.leaky_relu_(F.conv2d(x, _cl(c1.weight), c1.bias, stride=c1.stride, padding=c1.padding), LEAKY_SLOPE)
    h = F.conv2d(h, _cl(c2.weight), c2.bias, padding=c2.padding)
    gamma, beta = _gdn(block.gdn)
    norm = F.conv2d(h * h, gamma, beta).rsqrt_()
    skip = x if block.skip is None else F.conv2d(x, _cl(block.skip.weight), block.skip.bias,
                                                   stride=block.skip.stride)
    return torch.addcmul(skip, h, norm)


def analysis(g_a: nn.Module, x: Tensor) -> list[Tensor]:
    """TreeAnalysis of x: the 4 latents, contiguous (the latent codecs see what they see in forward)."""
    feats = [x]
    for level in g_a.levels:
        feats = [strided_block(node, feats[i // 2]) for i, node in enumerate(level)]
    return [fuse(f, feats[2 * k], feats[2 * k + 1]).contiguous() for k, f in enumerate(g_a.fusions)]


def lattice_synthesis(g_s: nn.Module, y_hats: Sequence[Tensor]) -> Tensor:
    """LatticeSynthesis of 4 latents -> B x 3 x 16h x 16w (not clamped), contiguous."""
    feats = list(y_hats)
    for level, fusions in zip(g_s.levels, g_s.fusions):
        up = [upsample(node, f) for node, f in zip(level, feats)]
        feats = [fuse(f, up[j], up[j + 1]) for j, f in enumerate(fusions)]
    block, conv = g_s.final
    return upsample_then_conv(block, conv, feats[0]).contiguous()


def pyramid_synthesis(g_s: nn.Module, y_hats: Sequence[Tensor]) -> Tensor:
    """PyramidSynthesis of 4 latents -> B x 3 x 16h x 16w (not clamped), contiguous."""
    feats = [torch.cat((y_hats[j], y_hats[j + 1]), dim=1) for j in range(len(y_hats) - 1)]
    for level, fusions in zip(g_s.levels, g_s.fusions):
        up = [upsample(node, f) for node, f in zip(level, feats)]
        feats = [fuse(f, up[j], up[j + 1]) for j, f in enumerate(fusions)] or up
    return g_s.final(feats[0]).contiguous()


# ------------------------------------------------------------------------------ entropy models


class IndexedGaussianConditional(GaussianConditional):
    """CompressAI's GaussianConditional (same buffers, same state dict) whose ``build_indexes`` is one
    ``bucketize``: CompressAI counts the table entries ``s`` (all but the last) with ``scale <= s`` and
    subtracts that from ``len(table) - 1``; for a sorted table (CompressAI checks it is) that is the
    number of entries strictly below the scale, which is what ``bucketize`` returns. Integers, so
    encoder and decoder agree with each other and with CompressAI's own loop exactly."""

    def build_indexes(self, scales: Tensor) -> Tensor:
        scales = self.lower_bound_scale(scales)
        return torch.bucketize(scales, self.scale_table[:-1].contiguous()).int()
