"""Progressive trit-plane codecs: DPICT, CTC and the ATC reading, as one CompressAI-style model.

Papers: J.-H. Lee, S. Jeon, K. P. Choi, Y. Park, C.-S. Kim, "DPICT: Deep Progressive Image Compression
Using Trit-Planes" (CVPR 2022); S. Jeon, K. P. Choi, Y. Park, C.-S. Kim, "Context-Based Trit-Plane Coding
for Progressive Image Compression" (CTC, CVPR 2023); "Image Compression Base on Trit-Plane and Attention"
(ATC, a course report: a plan, no progressive result). ``atc-spec.md`` is the reading built here::

    x ─ g_a ─ y ─ h_a ─ z ─ EB ─ ẑ ─ h_s ─ entropy_parameters ─ (σ̂, μ)
                  │                                               │
                  └──────────── trit-plane coder (tritplane.py) ◄─┘ ── chunks (each a truncation point)
                                   ▲ Q (CRR, ctc/atc)                 │ prefix of k chunks
                                                     ŷ_k ─ [CDR (ctc/atc)] ─ g_s ─ x̂_k

Main net (every preset): Cheng2020-attention transforms and Cheng2020-anchor's hyperprior, mean-scale,
no context model (trit planes cannot use an autoregressive one); N = 192 gives 1024.31 kMAC/px and
27,214,380 params (torchinfo, 256 x 256). Presets:

    preset  RD planes  chunks (LSB first)        CRR x3              CDR x3              g_s
    dpict   6          48, 48, 48, 32, 16, 3     -                   -                   g_s
    ctc     5          48, 48, 48, 32, 16        residual trunk      residual trunk      retrained ("replace")
    atc     5          48, 48, 48, 32, 16        + AttentionBlock    + AttentionBlock    retrained ("replace")

``atc`` is labelled "ATC (rdbench reading)" everywhere: the paper never defines its modules. Training
(``forward``) is the main net's rate-distortion loss; the RR/DR stages and the decoder retraining are
training recipes of their own (see docs/progressive.md).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import (AttentionBlock, ResidualBlock, ResidualBlockUpsample, ResidualBlockWithStride, conv1x1,
                               conv3x3, subpel_conv3x3)
from compressai.models.base import CompressionModel
from torch import Tensor, nn

from rdbench.models.tritplane import CTC_CHUNKS, DPICT_CHUNKS, SCALE_GRIDS, State, TritPlaneCoder, TritPlaneConfig
from rdbench.models.tritrr import DR_ATTENTION, RR_ATTENTION, DistortionReduction, RateReduction

PRESETS: dict[str, dict] = {
    "dpict": {"rd_planes": 6, "chunks": DPICT_CHUNKS, "rr_attention": None, "dr_attention": None, "retrain_gs": "none"},
    "ctc": {"rd_planes": 5, "chunks": CTC_CHUNKS, "rr_attention": "none", "dr_attention": "none",
            "retrain_gs": "replace"},
    "atc": {"rd_planes": 5, "chunks": CTC_CHUNKS, "rr_attention": "trunk", "dr_attention": "trunk",
            "retrain_gs": "replace"},
}
LABELS = {"dpict": "DPICT", "ctc": "CTC", "atc": "ATC (rdbench reading)"}
ATTENTION = ("both", "encoder")
RETRAIN_GS = ("replace", "extra", "none")
CDR_LOSSES = ("latent", "image")
RR_PLANES = 6  # CRR runs before each of the last 6 planes, CDR after a truncation in planes L-6 .. L-2


def analysis(N: int) -> nn.Sequential:
    """g_a of Cheng et al. 2020 with attention: 3 x H x W -> N x H/16 x W/16."""
    return nn.Sequential(ResidualBlockWithStride(3, N, stride=2), ResidualBlock(N, N),
                         ResidualBlockWithStride(N, N, stride=2), AttentionBlock(N), ResidualBlock(N, N),
                         ResidualBlockWithStride(N, N, stride=2), ResidualBlock(N, N), conv3x3(N, N, stride=2),
                         AttentionBlock(N))


def synthesis(N: int, attention: bool) -> nn.Sequential:
    """g_s of Cheng et al. 2020, with its two attention blocks or (anchor) without."""
    attn = (lambda: [AttentionBlock(N)]) if attention else (lambda: [])
    return nn.Sequential(*attn(), ResidualBlock(N, N), ResidualBlockUpsample(N, N, 2), ResidualBlock(N, N),
                         ResidualBlockUpsample(N, N, 2), *attn(), ResidualBlock(N, N), ResidualBlockUpsample(N, N, 2),
                         ResidualBlock(N, N), subpel_conv3x3(N, 3, 2))


def _interleaved(*layers: nn.Module) -> nn.Sequential:
    out: list[nn.Module] = []
    for layer in layers[:-1]:
        out += [layer, nn.LeakyReLU(inplace=True)]
    return nn.Sequential(*out, layers[-1])


class TritPlaneNet(CompressionModel):
    """One progressive model (see the module docstring); options left ``None`` take the preset's value."""

    pad_multiple = 64

    def __init__(self, preset: str = "atc", N: int = 192, attention: str = "both", rd_planes: int | None = None,
                 chunks: Sequence[int] | None = None, sigma_min: float = 0.04, tail: float = 1e-9, L_cap: int = 20,
                 scale_grid: str = "table", rr_attention: str | None = None, dr_attention: str | None = None,
                 cdr_loss: str = "latent", retrain_gs: str | None = None):
        if preset not in PRESETS:
            raise ValueError(f"TritPlaneNet: unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        base = PRESETS[preset]
        rr = base["rr_attention"] if rr_attention is None else rr_attention
        dr = base["dr_attention"] if dr_attention is None else dr_attention
        gs = base["retrain_gs"] if retrain_gs is None else retrain_gs
        for name, value, allowed in (("attention", attention, ATTENTION), ("scale_grid", scale_grid, SCALE_GRIDS),
                                     ("cdr_loss", cdr_loss, CDR_LOSSES), ("retrain_gs", gs, RETRAIN_GS),
                                     ("rr_attention", rr, (None, *RR_ATTENTION)),
                                     ("dr_attention", dr, (None, *DR_ATTENTION))):
            if value not in allowed:
                raise ValueError(f"TritPlaneNet: unknown {name} {value!r}; choose one of "
                                 f"{', '.join(str(a) for a in allowed)}")
        if not isinstance(N, int) or N < 8 or N % 2:
            raise ValueError(f"TritPlaneNet: N {N!r} must be an even integer >= 8 (192: DPICT and CTC)")
        super().__init__()
        self.coder = TritPlaneCoder(TritPlaneConfig(
            rd_planes=base["rd_planes"] if rd_planes is None else int(rd_planes),
            chunks=tuple(base["chunks"] if chunks is None else chunks), sigma_min=sigma_min, tail=tail, L_cap=L_cap,
            scale_grid=scale_grid))
        self._config = {"preset": preset, "N": N, "attention": attention, "rd_planes": self.coder.config.rd_planes,
                        "chunks": list(self.coder.config.chunks), "sigma_min": sigma_min, "tail": tail,
                        "L_cap": L_cap, "scale_grid": scale_grid, "rr_attention": rr, "dr_attention": dr,
                        "cdr_loss": cdr_loss, "retrain_gs": gs}
        self.preset, self.label, self.N = preset, LABELS[preset], N
        self.g_a = analysis(N)
        self.g_s = synthesis(N, attention == "both")
        self.g_s_full = synthesis(N, attention == "both") if gs == "extra" else None
        self.h_a = _interleaved(conv3x3(N, N), conv3x3(N, N), conv3x3(N, N, stride=2), conv3x3(N, N),
                                conv3x3(N, N, stride=2))
        self.h_s = _interleaved(conv3x3(N, N), subpel_conv3x3(N, N, 2), conv3x3(N, N * 3 // 2),
                                subpel_conv3x3(N * 3 // 2, N * 3 // 2, 2), conv3x3(N * 3 // 2, 2 * N))
        self.entropy_parameters = _interleaved(conv1x1(2 * N, 2 * N), conv1x1(2 * N, 2 * N), conv1x1(2 * N, 2 * N))
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gaussian_conditional = GaussianConditional(None)
        # CRR1 (plane L-1), CRR2 (L-2), CRR3 (L-6 .. L-3); CDR1 (L-2), CDR2 (L-3), CDR3 (L-6 .. L-4)
        self.rr = nn.ModuleList(RateReduction(N, rr) for _ in range(3)) if rr is not None else None
        self.dr = nn.ModuleList(DistortionReduction(N, dr) for _ in range(3)) if dr is not None else None

    def config(self) -> dict:
        """The constructor keywords of this instance (``TritPlaneNet(**model.config())`` rebuilds it)."""
        return dict(self._config)

    def coding_options(self) -> dict:
        """The options a decoder must share with the encoder (hashed into the file header)."""
        return {k: v for k, v in self._config.items() if k != "cdr_loss"}

    # ----------------------------------------------------------------------------------- training

    def hyper(self, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        scales, means = self.entropy_parameters(self.h_s(z_hat)).chunk(2, dim=1)
        return scales, means

    def forward(self, x: Tensor) -> dict:
        """The main net's training pass (DPICT trains it once, at λ = 0.2): {"x_hat", "likelihoods"}."""
        self._check_input(x)
        y = self.g_a(x)
        z_hat, z_likelihoods = self.entropy_bottleneck(self.h_a(y))
        scales, means = self.hyper(z_hat)
        y_hat, y_likelihoods = self.gaussian_conditional(y, scales, means=means)
        return {"x_hat": self.g_s(y_hat), "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    # ------------------------------------------------------------------------------------- coding

    def compress(self, x: Tensor, on_chunk: Callable[[int, State], None] | None = None) -> dict:
        """{"z_string", "z_shape", "chunks" (one rANS stream each), "plan", "ideal_bits"}."""
        self._check_coding("compress")
        self._check_input(x)
        if x.shape[0] != 1:
            raise ValueError(f"TritPlaneNet codes one image at a time, got a batch of {x.shape[0]}")
        y = self.g_a(x)
        z = self.h_a(y)
        z_string = self.entropy_bottleneck.compress(z)[0]
        scales, means = self.hyper(self.entropy_bottleneck.decompress([z_string], z.shape[-2:]))
        enc = self.coder.encode(y.double().numpy(), means.double().numpy(), scales.double().numpy(),
                                self._rate_model(scales, means), on_chunk)
        return {"z_string": z_string, "z_shape": tuple(z.shape[-2:]), "chunks": enc.chunks, "plan": enc.plan,
                "ideal_bits": enc.ideal_bits}

    def decompress(self, z_string: bytes, z_shape: Sequence[int], chunks: Sequence[bytes]) -> dict:
        """{"x_hat", "y_hat", "planes_done"} from the first ``len(chunks)`` chunks of the stream."""
        self._check_coding("decompress")
        z_hat = self.entropy_bottleneck.decompress([z_string], tuple(int(s) for s in z_shape))
        scales, means = self.hyper(z_hat)
        values, state = self.coder.decode(chunks, means.double().numpy(), scales.double().numpy(),
                                          self._rate_model(scales, means))
        y_hat = torch.from_numpy(values.reshape(tuple(means.shape))).float()
        lsb = self._last_plane(state, len(chunks))
        if self.dr is not None and lsb is not None and 1 <= lsb < RR_PLANES:
            lo, hi = (torch.from_numpy(b.reshape(tuple(means.shape))).float() + means for b in state.bounds())
            y_hat = self.dr[min(lsb - 1, 2)](y_hat, scales, means, lo, hi)
        full = len(chunks) == state.plan.n_chunks
        g_s = self.g_s_full if full and self.g_s_full is not None else self.g_s
        return {"x_hat": g_s(y_hat).clamp_(0, 1), "y_hat": y_hat, "planes_done": lsb}

    @staticmethod
    def _last_plane(state: State, n_chunks: int) -> int | None:
        """The plane (counted from the LSB) of the last decoded chunk; None before the first chunk."""
        seen = 0
        for i, sizes in enumerate(state.plan.schedule):
            seen += len(sizes)
            if n_chunks <= seen:
                return state.plan.L - 1 - i if n_chunks else None
        return 0

    @staticmethod
    def rr_inputs(state: State, active: np.ndarray, means: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """CRR's inputs before a plane: P (1 x 3 x C x h x w: the Gaussian trit probabilities of the active
        elements, [0, 1, 0] elsewhere), q (μ + the conditional mean of each third) and ŷ_cur."""
        shape, mu = tuple(means.shape[1:]), means.double().numpy().reshape(-1)

        def as_tensor(a: np.ndarray) -> Tensor:  # n x 3 -> 1 x 3 x C x h x w
            return torch.from_numpy(np.ascontiguousarray(a.T)).float().reshape(1, 3, *shape)

        thirds, mean, _ = state.thirds(np.arange(mu.size))
        P = np.tile([0.0, 1.0, 0.0], (mu.size, 1))
        P[active] = thirds[active]
        y_cur = torch.from_numpy(mu + state.values()).float().reshape(1, *shape)
        return as_tensor(P), as_tensor(mu[:, None] + mean), y_cur

    def _rate_model(self, scales: Tensor, means: Tensor):
        """CRR as the coder's rate model: Q for the active elements of the last 6 planes, P elsewhere."""
        if self.rr is None:
            return None

        def model(ctx, prob: np.ndarray) -> np.ndarray:
            lsb = ctx.L - 1 - ctx.plane
            if lsb >= RR_PLANES:
                return prob
            P, q, y_cur = self.rr_inputs(ctx.state, ctx.active, means)
            Q = self.rr[min(lsb, 2)](P, q, y_cur, scales, means)
            return Q.reshape(3, -1).T.double().numpy()[ctx.active]

        return model

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"TritPlaneNet wants B x 3 x H x W, got {tuple(x.shape)}")
        if x.shape[-2] % self.pad_multiple or x.shape[-1] % self.pad_multiple:
            raise ValueError(f"TritPlaneNet input {tuple(x.shape[-2:])} is not a multiple of {self.pad_multiple}; "
                             "pad it first")

    def _check_coding(self, what: str) -> None:
        if self.training:
            raise RuntimeError(f"TritPlaneNet.{what} runs in eval mode only: call model.eval() first")


# --------------------------------------------------------------------------------- complexity


def complexity_parts(model: TritPlaneNet) -> dict[str, list[nn.Module]]:
    """The modules rdbench.complexity counts: rr once per call (CRR1, CRR2, CRR3 x 4), dr once per module."""
    parts = {"g_a": [model.g_a], "g_s": [model.g_s], "h_a": [model.h_a], "h_s": [model.h_s],
             "h_ep": [model.entropy_parameters]}
    if model.rr is not None:
        parts["rr"] = [model.rr[0], model.rr[1], *[model.rr[2]] * (RR_PLANES - 2)]
    if model.dr is not None:
        parts["dr"] = list(model.dr)
    if model.g_s_full is not None:
        parts["g_s_full"] = [model.g_s_full]
    return parts


def complexity_probe(model: TritPlaneNet, x: Tensor) -> None:
    """Call every counted module once on inputs of the right shapes (RR/DR see a latent-sized batch)."""
    model(x)
    y = model.g_a(x)
    scales, means = torch.rand_like(y), torch.rand_like(y)
    P = torch.softmax(torch.rand(y.shape[0], 3, *y.shape[1:]), dim=1)
    for rr in model.rr or []:
        rr(P, P, y, scales, means)
    for dr in model.dr or []:
        dr(y, scales, means)
    if model.g_s_full is not None:
        model.g_s_full(y)
