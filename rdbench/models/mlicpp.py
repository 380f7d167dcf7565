"""The multi-reference entropy model of MLIC++, as LoC-LIC uses it, written from ``loclic-spec.md``.

Papers: W. Jiang, J. Yang, Y. Zhai, F. Gao, R. Wang, "MLIC++: Linear Complexity Multi-Reference Entropy
Modeling for Learned Image Compression" (ICML 2023 Neural Compression workshop), built on W. Jiang et al.,
"MLIC: Multi-Reference Entropy Model for Learned Image Compression" (ACM MM 2023); the checkerboard is
D. He et al., "Checkerboard Context Model for Efficient Learned Image Compression" (CVPR 2021), the latent
residual prediction (LRP) D. Minnen, S. Singh, "Channel-wise autoregressive entropy models for learned
image compression" (ICIP 2020). The authors' code (JiangWeibeta/MLIC, Apache-2.0) was read to settle the
layer shapes; nothing here is copied from it.

y (B x M x h x w, h and w even) is split into S slices of c = M / S channels. Every slice is coded in two
checkerboard passes, anchors first (positions where h + w is odd, MLIC++'s convention), then the rest::

    hyper (2M) ─────────────────────────┬──────────────────────────────┬─────────────┐
    ŷ_<i ─┬─ GlobalInter[i] ── inter ───┤                              │             │
          └─ ChannelCtx[i] ─── chan ────┴─ EP_a[i] ─ (σ, μ) anchors    │             │
                                                │                      │             │
    y_i ─────────────────────────── Q / code ───┴─ ŷ_a ─ + LRP_a[i] ─┬─┘             │
                                                                     ├─ LocalCtx[i] ─┤
    ŷ_{i-1} ─ GlobalIntra[i](ŷ_{i-1}, ŷ_a) ──────────────────────────┘               │
                        ─ EP_n[i](local, intra, inter, chan, hyper) ─ (σ, μ) non-anchors
    y_i ─────────────────────────── Q / code ─ ŷ_i ─ + LRP_n[i] ─ ŷ_i

Slice 0 has no ŷ_<i: its EP_a reads only the hyper parameters and its EP_n only (local, hyper). The LRPs
read cat(hyper means, ŷ_<i, ŷ_i) and correct only the positions just coded (0.5 tanh, bounded). All
anchors and non-anchors of all slices go into one rANS stream, in coding order.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.entropy_models import GaussianConditional
from compressai.latent_codecs import LatentCodec
from compressai.ops import quantize_ste
from torch import Tensor, nn

LRP_VARIANTS = ("mlicpp-2024-06", "mlicpp-2024-03")
QUANTIZATIONS = ("mixed", "noise", "ste")


def anchor_mask(height: int, width: int, device=None) -> Tensor:
    """Boolean h x w mask of the checkerboard anchors: positions where (row + column) is odd."""
    rows = torch.arange(height, device=device)[:, None]
    cols = torch.arange(width, device=device)[None, :]
    return (rows + cols) % 2 == 1


def _gelu_between(layers: list[nn.Module]) -> nn.Sequential:
    """layers[0], GELU, layers[1], GELU, ..., layers[-1]."""
    out: list[nn.Module] = []
    for i, layer in enumerate(layers):
        out += [layer] if i == len(layers) - 1 else [layer, nn.GELU()]
    return nn.Sequential(*out)


def _conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


def _dw3x3(c: int) -> nn.Conv2d:
    return nn.Conv2d(c, c, 3, padding=1, groups=c)


def _pointwise_then_depthwise(c: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c, c, 1), _dw3x3(c))


# ------------------------------------------------------------------------------------ contexts


class LocalContext(nn.Module):
    """MLIC++'s local spatial reference: checkerboard-masked window attention over the anchors.

    B x c x h x w anchors (zeros elsewhere) -> B x 2c x h x w. Per position: LayerNorm, q/k/v (one
    Linear), the window x window neighbourhood (zero padded), multi-head attention among its tokens with
    a relative-position bias, where only anchor-anchor pairs attend (others get -100); a window x window
    convolution fuses the attended window into 2c channels, then a Linear and a residual LayerNorm MLP.
    """

    def __init__(self, dim: int = 32, window: int = 5, heads: int = 2, mlp_ratio: float = 2.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"LocalContext: dim {dim} is not divisible by {heads} heads")
        self.dim, self.window, self.heads = dim, window, heads
        self.scale = (dim // heads) ** -0.5
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.position_bias = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.position_bias, std=0.02)
        offsets = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = offsets[:, :, None] - offsets[:, None, :] + window - 1  # 2 x T x T, T = window^2
        self.register_buffer("position_index", rel[0] * (2 * window - 1) + rel[1], persistent=False)
        self.fusion = nn.Conv2d(dim, 2 * dim, window)
        self.proj = nn.Linear(2 * dim, 2 * dim)
        self.norm2 = nn.LayerNorm(2 * dim)
        self.mlp = nn.Sequential(nn.Linear(2 * dim, int(2 * dim * mlp_ratio)), nn.GELU(),
                                 nn.Linear(int(2 * dim * mlp_ratio), 2 * dim))

    def _windows(self, x: Tensor) -> Tensor:
        """B x C x h x w -> B x (h w) x C x T: every position's zero-padded window, T = window^2."""
        b, c = x.shape[:2]
        cols = F.unfold(x, self.window, padding=self.window // 2)  # B x (C T) x L
        return cols.view(b, c, self.window**2, -1).permute(0, 3, 1, 2)

    def forward(self, y_anchor: Tensor) -> Tensor:
        b, c, h, w = y_anchor.shape
        t = self.window**2
        tokens = self.norm1(y_anchor.flatten(2).transpose(1, 2))  # B x L x c
        qkv = self.qkv(tokens).transpose(1, 2).reshape(b, 3 * c, h, w)
        win = self._windows(qkv).reshape(b, h * w, 3, self.heads, c // self.heads, t)
        q, k, v = (win[:, :, j].transpose(-1, -2) for j in range(3))  # B x L x heads x T x head_dim
        attn = (q * self.scale) @ k.transpose(-1, -2)
        attn = attn + self.position_bias[self.position_index].permute(2, 0, 1)
        anchors = self._windows(anchor_mask(h, w, y_anchor.device).to(y_anchor.dtype)[None, None])[0, :, 0]
        allowed = anchors[:, :, None] * anchors[:, None, :]  # L x T x T: both tokens are anchors
        attn = attn + ((1.0 - allowed) * -100.0)[None, :, None]
        out = attn.softmax(dim=-1) @ v  # B x L x heads x T x head_dim
        out = out.permute(0, 1, 2, 4, 3).reshape(b * h * w, c, self.window, self.window)
        out = self.proj(self.fusion(out).reshape(b, h * w, 2 * c))
        out = out + self.mlp(self.norm2(out))
        return out.transpose(1, 2).reshape(b, 2 * c, h, w)


def _linear_attention(q: Tensor, k: Tensor, v: Tensor, heads: int) -> Tensor:
    """Softmax-linear attention (Shen et al. 2021, "Efficient attention"): B x C x Nq, B x C x Nk, B x C x Nk
    -> B x C x Nq. Per head: keys softmax over positions, queries over channels, out = (K V^T)^T Q."""
    b, c = q.shape[:2]
    hd = c // heads
    q = q.reshape(b, heads, hd, -1).softmax(dim=2)
    k = k.reshape(b, heads, hd, -1).softmax(dim=3)
    v = v.reshape(b, heads, hd, -1)
    context = k @ v.transpose(-1, -2)  # B x heads x hd x hd
    return (context.transpose(-1, -2) @ q).reshape(b, c, -1)


class LinearGlobalIntraContext(nn.Module):
    """MLIC++'s global intra-slice reference: the anchors of the slice being coded, attended with
    queries from the non-anchors and keys from the anchors of the previous slice (whose similarity says
    which anchors matter where). (ŷ_{i-1}, ŷ_a) -> B x 2c x h x w, non-zero at the non-anchors before
    the 5x5 reprojection."""

    def __init__(self, dim: int = 32, heads: int = 2):
        super().__init__()
        self.heads = heads
        self.queries = _pointwise_then_depthwise(dim)
        self.keys = _pointwise_then_depthwise(dim)
        self.values = _pointwise_then_depthwise(dim)
        self.reprojection = nn.Conv2d(dim, 2 * dim, 5, padding=2)
        self.mlp = _gelu_between([nn.Conv2d(2 * dim, 4 * dim, 1), _dw3x3(4 * dim), nn.Conv2d(4 * dim, 2 * dim, 1)])

    def forward(self, y_prev: Tensor, y_anchor: Tensor) -> Tensor:
        mask = anchor_mask(*y_prev.shape[-2:], device=y_prev.device)
        q = self.queries(y_prev * ~mask)[:, :, ~mask]
        k = self.keys(y_prev * mask)[:, :, mask]
        v = self.values(y_anchor)[:, :, mask]
        attended = y_prev.new_zeros(y_prev.shape)
        attended[:, :, ~mask] = _linear_attention(q, k, v, self.heads)
        out = self.reprojection(attended)
        return out + self.mlp(out)


class LinearGlobalInterContext(nn.Module):
    """MLIC++'s global inter-slice reference: linear attention over all positions of cat(ŷ_<i)
    (B x dim x h x w, dim / heads channels per head) -> B x out x h x w."""

    def __init__(self, dim: int, out: int = 64, heads: int = 1):
        super().__init__()
        self.heads = heads
        self.queries = _pointwise_then_depthwise(dim)
        self.keys = _pointwise_then_depthwise(dim)
        self.values = _pointwise_then_depthwise(dim)
        mid = out * 3 // 2
        self.reprojection = nn.Conv2d(dim, mid, 5, padding=2)
        self.mlp = _gelu_between([nn.Conv2d(mid, 2 * out, 1), _dw3x3(2 * out), nn.Conv2d(2 * out, out, 1)])
        self.skip = nn.Conv2d(mid, out, 1)

    def forward(self, y_prev: Tensor) -> Tensor:
        flat = lambda f: f(y_prev).flatten(2)  # noqa: E731
        attended = _linear_attention(flat(self.queries), flat(self.keys), flat(self.values), self.heads)
        out = self.reprojection(attended.reshape(y_prev.shape))
        return self.skip(out) + self.mlp(out)


def channel_context(cin: int, out: int) -> nn.Sequential:
    """MLIC++'s channel reference: three 3x3 convolutions cat(ŷ_<i) -> 192 -> 128 -> out."""
    return _gelu_between([_conv3x3(cin, 192), _conv3x3(192, 128), _conv3x3(128, out)])


def entropy_parameters(cin: int, out: int) -> nn.Sequential:
    """1x1 convolutions cin -> 320 -> 256 -> 128 -> out (scales, then means)."""
    return _gelu_between([nn.Conv2d(cin, 320, 1), nn.Conv2d(320, 256, 1), nn.Conv2d(256, 128, 1),
                          nn.Conv2d(128, out, 1)])


class LatentResidualPrediction(nn.Module):
    """cat(hyper means, ŷ_<i, ŷ_i) -> 0.5 tanh(f(.)), a bounded correction of the rounding error of ŷ_i.

    variant "mlicpp-2024-06" (MLIC++ since June 2024, what LoC-LIC uses): 3x3 convolutions
    cin -> 224 -> 128 -> out. "mlicpp-2024-03" (the earlier MLIC++, the paper's 1256 kMAC/px baseline):
    four 3x3 convolutions narrowing linearly, cin -> cin - d/4 -> cin - d/2 -> cin - 3d/4 -> out, d = cin - out.
    """

    def __init__(self, cin: int, out: int, variant: str = LRP_VARIANTS[0]):
        super().__init__()
        if variant == "mlicpp-2024-06":
            widths = [cin, 224, 128, out]
        elif variant == "mlicpp-2024-03":
            d = cin - out
            widths = [cin, cin - d // 4, cin - d // 2, cin - d * 3 // 4, out]
        else:
            raise ValueError(f"unknown LRP variant {variant!r}; choose one of {', '.join(LRP_VARIANTS)}")
        self.net = _gelu_between([_conv3x3(a, b) for a, b in zip(widths, widths[1:])])

    def forward(self, x: Tensor) -> Tensor:
        return 0.5 * torch.tanh(self.net(x))


# ------------------------------------------------------------------------------ latent codec

# One coding pass of one slice part: (slice index, y slice or None, scales, means, h x w mask of the
# positions coded now) -> ŷ of those positions, zero elsewhere.
Step = Callable[[int, "Tensor | None", Tensor, Tensor, Tensor], Tensor]


class MultiReferenceLatentCodec(LatentCodec):
    """The slice loop of the module docstring, for y given the 2M hyper parameters of h_s(ẑ).

    M: channels of y; slices: S (M / S channels each); lrp: an LRP variant; quantization (training only):
    "mixed" (rate from y + uniform noise, ŷ = STE rounding: MLIC++ and LoC-LIC), "noise" (both from the
    noisy y) or "ste" (both from the STE-rounded y). In eval mode ŷ is always rounded, as in coding.
    """

    def __init__(self, M: int = 320, slices: int = 10, lrp: str = LRP_VARIANTS[0], quantization: str = "mixed"):
        super().__init__()
        if M % slices:
            raise ValueError(f"M = {M} channels do not split into {slices} equal slices")
        if quantization not in QUANTIZATIONS:
            raise ValueError(f"unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}")
        c = M // slices
        self.M, self.slices, self.c, self.quantization = M, slices, c, quantization
        self.gaussian_conditional = GaussianConditional(None)
        later = range(1, slices)  # modules that read ŷ_<i exist for slices i >= 1 only
        self.local_context = nn.ModuleList(LocalContext(c) for _ in range(slices))
        self.global_intra = nn.ModuleList(LinearGlobalIntraContext(c) for _ in later)
        self.global_inter = nn.ModuleList(LinearGlobalInterContext(c * i, 2 * c, heads=i) for i in later)
        self.channel_context = nn.ModuleList(channel_context(c * i, 4 * c) for i in later)
        self.ep_anchor = nn.ModuleList(entropy_parameters(2 * M + (6 * c if i else 0), 2 * c) for i in range(slices))
        self.ep_nonanchor = nn.ModuleList(entropy_parameters(2 * M + (10 * c if i else 2 * c), 2 * c)
                                          for i in range(slices))
        self.lrp_anchor = nn.ModuleList(LatentResidualPrediction(M + c * (i + 1), c, lrp) for i in range(slices))
        self.lrp_nonanchor = nn.ModuleList(LatentResidualPrediction(M + c * (i + 1), c, lrp) for i in range(slices))

    def _slice_loop(self, hyper: Tensor, step: Step, y: Tensor | None = None) -> Tensor:
        """Run the two passes of every slice; ``step`` quantises (or codes) one part. Returns ŷ."""
        hyper_means = hyper.chunk(2, dim=1)[1]
        anchors = anchor_mask(*hyper.shape[-2:], device=hyper.device)
        y_hats: list[Tensor] = []
        for i in range(self.slices):
            y_i = None if y is None else y[:, i * self.c:(i + 1) * self.c]
            shared: list[Tensor] = []
            if i:
                prev = torch.cat(y_hats, dim=1)
                shared = [self.global_inter[i - 1](prev), self.channel_context[i - 1](prev)]
            scales, means = self.ep_anchor[i](torch.cat([*shared, hyper], dim=1)).chunk(2, dim=1)
            y_anchor = step(i, y_i, scales, means, anchors)
            y_anchor = y_anchor + anchors * self.lrp_anchor[i](torch.cat([hyper_means, *y_hats, y_anchor], dim=1))
            spatial = [self.local_context[i](y_anchor)]
            if i:
                spatial.append(self.global_intra[i - 1](y_hats[-1], y_anchor))
            scales, means = self.ep_nonanchor[i](torch.cat([*spatial, *shared, hyper], dim=1)).chunk(2, dim=1)
            y_hat = y_anchor + step(i, y_i, scales, means, ~anchors)
            y_hat = y_hat + ~anchors * self.lrp_nonanchor[i](torch.cat([hyper_means, *y_hats, y_hat], dim=1))
            y_hats.append(y_hat)
        return torch.cat(y_hats, dim=1)

    # ------------------------------------------------------------------------------ forward

    def forward(self, y: Tensor, hyper: Tensor) -> dict:
        """{"y_hat", "likelihoods": {"y"}}; see the class docstring for the quantization."""
        self._check(y.shape[-2:], hyper)
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5) if self.training else None
        parts: list[list[Tensor]] = [[] for _ in range(self.slices)]  # per slice: anchor, non-anchor pass

        def step(i: int, y_i: Tensor, scales: Tensor, means: Tensor, mask: Tensor) -> Tensor:
            noisy_i = None if noisy is None else noisy[:, i * self.c:(i + 1) * self.c]
            y_hat = noisy_i if self.quantization == "noise" and noisy_i is not None else \
                quantize_ste(y_i - means) + means
            rated = noisy_i if self.quantization == "mixed" and noisy_i is not None else y_hat
            lik = self.gaussian_conditional._likelihood(rated, scales, means)
            if self.gaussian_conditional.use_likelihood_bound:
                lik = self.gaussian_conditional.likelihood_lower_bound(lik)
            parts[i].append(lik)
            return y_hat * mask

        y_hat = self._slice_loop(hyper, step, y)
        anchors = anchor_mask(*y.shape[-2:], device=y.device)
        likelihoods = torch.cat([torch.where(anchors, a, n) for a, n in parts], dim=1)
        return {"y_hat": y_hat, "likelihoods": {"y": likelihoods}}

    # ------------------------------------------------------------------------------ coding

    def compress(self, y: Tensor, hyper: Tensor) -> dict:
        """{"strings": [[one rANS stream per batch item]], "y_hat"}: every slice, anchors then non-anchors."""
        self._check(y.shape[-2:], hyper)
        gc = self.gaussian_conditional
        tables = self._tables()
        strings, y_hats = [], []
        for b in range(y.shape[0]):
            symbols: list[int] = []
            indexes: list[int] = []

            def step(_: int, y_i: Tensor, scales: Tensor, means: Tensor, mask: Tensor) -> Tensor:
                mu = means[:, :, mask]
                q = gc.quantize(y_i[:, :, mask], "symbols", mu)
                symbols.extend(q.reshape(-1).tolist())
                indexes.extend(gc.build_indexes(scales[:, :, mask]).reshape(-1).tolist())
                return self._place(gc.dequantize(q, mu), mask, means)

            y_hats.append(self._slice_loop(hyper[b:b + 1], step, y[b:b + 1]))
            encoder = BufferedRansEncoder()
            encoder.encode_with_indexes(symbols, indexes, *tables)
            strings.append(encoder.flush())
        return {"strings": [strings], "y_hat": torch.cat(y_hats)}

    def decompress(self, strings: list[list[bytes]], hyper: Tensor) -> dict:
        """Inverse of :meth:`compress` given the same hyper parameters: {"y_hat"}."""
        if len(strings) != 1 or len(strings[0]) != hyper.shape[0]:
            raise ValueError(f"MultiReferenceLatentCodec.decompress wants [[one y stream per image]], got "
                             f"{len(strings)} stream list(s) for {hyper.shape[0]} image(s)")
        self._check(hyper.shape[-2:], hyper)
        gc = self.gaussian_conditional
        tables = self._tables()
        y_hats = []
        for b, stream in enumerate(strings[0]):
            decoder = RansDecoder()
            decoder.set_stream(stream)

            def step(_: int, __: None, scales: Tensor, means: Tensor, mask: Tensor) -> Tensor:
                mu = means[:, :, mask]
                idx = gc.build_indexes(scales[:, :, mask])
                q = decoder.decode_stream(idx.reshape(-1).tolist(), *tables)
                q = torch.tensor(q, dtype=torch.int32).reshape(mu.shape)
                return self._place(gc.dequantize(q, mu), mask, means)

            y_hats.append(self._slice_loop(hyper[b:b + 1], step))
        return {"y_hat": torch.cat(y_hats)}

    def _tables(self) -> tuple[list, list, list]:
        gc = self.gaussian_conditional
        return (gc.quantized_cdf.tolist(), gc.cdf_length.reshape(-1).int().tolist(),
                gc.offset.reshape(-1).int().tolist())

    @staticmethod
    def _place(values: Tensor, mask: Tensor, like: Tensor) -> Tensor:
        out = torch.zeros_like(like)
        out[:, :, mask] = values.to(like.dtype)
        return out

    def _check(self, size, hyper: Tensor) -> None:
        h, w = (int(s) for s in size)
        if h % 2 or w % 2:
            raise ValueError(f"the checkerboard needs an even latent size, got {h}x{w}; pad the image to a "
                             "multiple of 64")
        if hyper.shape[1] != 2 * self.M or tuple(hyper.shape[-2:]) != (h, w):
            raise ValueError(f"hyper parameters {tuple(hyper.shape)} do not fit y of {self.M} x {h} x {w}")
