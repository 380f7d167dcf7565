"""Teacher-forced losses of CTC's rate (CRR) and distortion (CDR) reduction modules, our reading of CTC.

Neither stage is in the ATC report; ``atc-spec.md`` reads them from CTC. The main net is frozen. For a
crop x, y and (σ̂, μ) come from it with ẑ rounded as at coding time (the EntropyBottleneck in eval mode
dequantizes with its medians, as ``compress`` + ``decompress`` do). The coder's state before a plane is
then set from the true symbols s ("teacher forcing"): an element active in plane L−1−k holds the interval
[⌊s / 3^{k+1}⌋ 3^{k+1}, + 3^{k+1}), and one not yet active holds its whole support::

    rr_loss(model, x, k)   mean −log2 Q(d) over the active trits of plane L−1−k, Q = CRR_k(P, q, ŷ_cur, σ̂, μ)
                           (also returns the Gaussian's −log2 P(d): what the CRR has to beat)
    dr_loss(model, x, k)   a truncation after a random number of the plane's chunks (in coding order,
                           RD-ordered where the coder orders so), then ‖ŷ' − (μ + s − c)‖² ("latent") or
                           MSE(x, g_s(ŷ')) with g_s frozen ("image"), ŷ' = CDR(ŷ_cur, σ̂, μ) clamped

These are the building blocks; ``rdbench train`` does not run these stages yet (it trains the main net).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rdbench.models.tritplane import Plan, State, rd_order
from rdbench.models.tritnet import RR_PLANES, TritPlaneNet


def _frozen_latent(model: TritPlaneNet, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    with torch.no_grad():
        y = model.g_a(x)
        eb = model.entropy_bottleneck
        z_hat = eb.quantize(model.h_a(y), "dequantize", eb._get_medians())
        scales, means = model.hyper(z_hat)
    return y, scales, means


def teacher_state(p: Plan, s: np.ndarray, lsb: int) -> tuple[State, np.ndarray]:
    """The coder's state before plane L−1−lsb after decoding every earlier trit correctly; its active set."""
    state = State(p)
    active = np.flatnonzero(p.levels >= lsb + 1)
    w = 3 ** (lsb + 1)
    state.a[active] = (s[active] // w) * w
    state.w[active] = w
    return state, active


def rr_loss(model: TritPlaneNet, x: Tensor, lsb: int) -> tuple[Tensor, float]:
    """(mean bits per trit under the CRR, with gradients; the same under the Gaussian) for plane L−1−lsb."""
    _check(model, "rr", lsb, range(RR_PLANES))
    bits, gaussian, count = [], 0.0, 0
    for xb in x.split(1):
        y, scales, means = _frozen_latent(model, xb)
        p = model.coder.plan(scales.double().numpy())
        if lsb >= p.L:
            continue  # this crop's latent has no such plane
        s = model.coder.symbols(y.double().numpy(), means.double().numpy(), p)
        state, active = teacher_state(p, s, lsb)
        trits = (s[active] - state.a[active]) // 3 ** lsb
        prob, _, _ = state.thirds(active)
        P, q, y_cur = model.rr_inputs(state, active, means)
        Q = model.rr[min(lsb, 2)](P, q, y_cur, scales, means).reshape(3, -1)[:, torch.from_numpy(active)]
        picked = Q.gather(0, torch.from_numpy(trits).unsqueeze(0)).clamp_min(1e-9)
        bits.append(-torch.log2(picked).sum())
        gaussian -= float(np.log2(prob[np.arange(active.size), trits]).sum())
        count += active.size
    if not count:
        raise ValueError(f"no crop of this batch has plane lsb-{lsb}; use larger crops or a lower plane")
    return torch.stack(bits).sum() / count, gaussian / count


def dr_loss(model: TritPlaneNet, x: Tensor, lsb: int, rng: np.random.Generator, target: str = "latent") -> Tensor:
    """The CDR's loss at a random truncation inside plane L−1−lsb (lsb 1..5: where decoding applies it)."""
    _check(model, "dr", lsb, range(1, RR_PLANES))
    if target not in ("latent", "image"):
        raise ValueError(f"cdr_loss {target!r}; choose latent or image")
    losses = []
    for xb in x.split(1):
        y, scales, means = _frozen_latent(model, xb)
        p = model.coder.plan(scales.double().numpy())
        if lsb >= p.L:
            continue
        s = model.coder.symbols(y.double().numpy(), means.double().numpy(), p)
        state, active = teacher_state(p, s, lsb)
        order = np.arange(active.size)
        if lsb < model.coder.config.rd_planes:
            prob, _, var = state.thirds(active)
            order = rd_order(prob, var, state, active)
        sizes = p.schedule[p.L - 1 - lsb]
        n = int(np.sum(sizes[:int(rng.integers(1, len(sizes) + 1))]))
        idx = active[order][:n]
        state.refine(idx, (s[idx] - state.a[idx]) // 3 ** lsb)
        shape, mu = tuple(means.shape), means.double().numpy().reshape(-1)
        y_cur = torch.from_numpy(mu + state.values()).float().reshape(shape)
        lo, hi = (torch.from_numpy(b.reshape(shape)).float() + means for b in state.bounds())
        refined = model.dr[min(lsb - 1, 2)](y_cur, scales, means, lo, hi)
        if target == "latent":
            truth = torch.from_numpy(mu + (s - p.centre)).float().reshape(shape)
            losses.append(((refined - truth) ** 2).mean())
        else:
            losses.append(((model.g_s(refined) - xb) ** 2).mean())
    if not losses:
        raise ValueError(f"no crop of this batch has plane lsb-{lsb}; use larger crops or a lower plane")
    return torch.stack(losses).mean()


def _check(model: TritPlaneNet, part: str, lsb: int, allowed: range) -> None:
    if getattr(model, part) is None:
        raise ValueError(f"preset {model.preset!r} has no {part.upper()} modules (choose ctc or atc)")
    if lsb not in allowed:
        raise ValueError(f"{part} plane lsb-{lsb}: choose one of {list(allowed)} (counted from the least significant)")
