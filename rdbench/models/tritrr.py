"""CTC's rate and distortion reduction modules (Jeon et al. CVPR 2023) and the ATC reading's attention.

Layer lists from ``atc-spec.md`` (CTC's code read, not copied). Every convolution runs at the latent
resolution, so kMAC/px at any size is params / 256 / 1000 (N = 192; torchinfo, biases included)::

    CRR (rate reduction; before each of the last 6 planes is coded)
      P (3N) ─ enc_P ─┐                                        o_0, o_1, o_2, s (N each)
      q (3N) ─ enc_q ─┤                                               │
      ŷ_cur  ─ enc_y ─┼─ cat (4N) ─ RB(4N) x6 ─ [AttentionBlock(4N)] ─ conv1x1 x4 ─┘
      σ̂, μ   ─ enc_e ─┘        Q_t = softmax_t((o_t + P_t) (0.5 + 9.5 sigmoid(s)))
                                 403.14 kMAC/px, 103,204,800 params; "trunk": 450.41, 115,306,176

    CDR (distortion reduction; once, after decoding a truncation in planes L-6 .. L-2)
      ŷ_cur ─ RB(N) x4 ──────────┐
      σ̂, μ  ─ RB(2N) x3, RB(2N→N) ┴─ cat (2N) ─ RB(2N) x3 ─ [AttentionBlock(2N)] ─ RB(2N→N) ─ + ŷ_cur, clamp
                                 80.96 kMAC/px, 20,724,864 params; "trunk": 92.78, 23,752,704

"Attention-based" RR and DR are never defined by the ATC paper; the attention options are rdbench's
reading (Cheng's simplified attention block, the only attention the paper describes).
"""

from __future__ import annotations

import torch
from compressai.layers import AttentionBlock, ResidualBlock, conv1x1
from torch import Tensor, nn

RR_ATTENTION = ("none", "trunk", "branches", "both")
DR_ATTENTION = ("none", "trunk")


def _blocks(widths: list[tuple[int, int]], attention: int | None = None) -> nn.Sequential:
    layers: list[nn.Module] = [ResidualBlock(cin, cout) for cin, cout in widths]
    if attention:
        layers.append(AttentionBlock(attention))
    return nn.Sequential(*layers)


class RateReduction(nn.Module):
    """CRR: sharpens the Gaussian trit probabilities P (B x 3 x C x h x w) into Q of the same shape."""

    def __init__(self, N: int = 192, attention: str = "none"):
        super().__init__()
        if attention not in RR_ATTENTION:
            raise ValueError(f"rr_attention {attention!r}; choose one of {', '.join(RR_ATTENTION)}")
        branch = N if attention in ("branches", "both") else None
        wide = [(3 * N, 3 * N), (3 * N, 3 * N), (3 * N, N), (N, N)]
        self.enc_p = _blocks(wide, branch)
        self.enc_q = _blocks(wide, branch)
        self.enc_y = _blocks([(N, N)] * 3, branch)
        self.enc_e = _blocks([(2 * N, 2 * N), (2 * N, 2 * N), (2 * N, N), (N, N)], branch)
        trunk: list[nn.Module] = [_blocks([(4 * N, 4 * N)] * 6, 4 * N if attention in ("trunk", "both") else None)]
        for j in range(4):
            trunk.append(conv1x1(4 * N, 4 * N))
            if j < 3:
                trunk.append(nn.LeakyReLU(inplace=True))
        self.trunk = nn.Sequential(*trunk)
        self.N = N

    def forward(self, P: Tensor, q: Tensor, y_cur: Tensor, scales: Tensor, means: Tensor) -> Tensor:
        b, _, c, h, w = P.shape
        feats = torch.cat([self.enc_p(P.reshape(b, 3 * c, h, w)), self.enc_q(q.reshape(b, 3 * c, h, w)),
                           self.enc_y(y_cur), self.enc_e(torch.cat([scales, means], dim=1))], dim=1)
        o0, o1, o2, s = self.trunk(feats).chunk(4, dim=1)
        logits = (torch.stack([o0, o1, o2], dim=1) + P) * (0.5 + 9.5 * torch.sigmoid(s)).unsqueeze(1)
        return torch.softmax(logits, dim=1)


class DistortionReduction(nn.Module):
    """CDR: ŷ' = clamp(ŷ_cur + f(ŷ_cur, σ̂, μ), lo, hi), never leaving the decoded interval."""

    def __init__(self, N: int = 192, attention: str = "none"):
        super().__init__()
        if attention not in DR_ATTENTION:
            raise ValueError(f"dr_attention {attention!r}; choose one of {', '.join(DR_ATTENTION)}")
        self.enc_latent = _blocks([(N, N)] * 4)
        self.enc_e = _blocks([(2 * N, 2 * N)] * 3 + [(2 * N, N)])
        self.trunk = _blocks([(2 * N, 2 * N)] * 3, 2 * N if attention == "trunk" else None)
        self.out = ResidualBlock(2 * N, N)

    def forward(self, y_cur: Tensor, scales: Tensor, means: Tensor, lo: Tensor | None = None,
                hi: Tensor | None = None) -> Tensor:
        feats = torch.cat([self.enc_latent(y_cur), self.enc_e(torch.cat([scales, means], dim=1))], dim=1)
        y = y_cur + self.out(self.trunk(feats))
        if lo is not None and hi is not None:
            y = torch.maximum(torch.minimum(y, hi), lo)
        return y
