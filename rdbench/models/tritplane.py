"""Trit-plane coding of a Gaussian latent (DPICT, Lee et al. CVPR 2022), as ``atc-spec.md`` reads it.

    y, μ, σ̂ (C x h x w) ─ plan(σ̂) ─ L planes, L_e per element, chunk schedule (σ̂ alone: the decoder agrees)
         │
         └─ s_e = clamp(round(y_e − μ_e) + c_e)  ─ base-3 digits, most significant plane first
              plane i:  P_e(t) = q_e(third t of I_e) / q_e(I_e)   (q: discrete Gaussian, zero mean)
                        order: flat index, or descending ΔD/ΔR in the last R planes (stable sort)
                        chunks: 1, or K_eff = min(K, ⌊n/2⌋) in an RD plane; one rANS stream per chunk

Every chunk boundary is a truncation point: a decoder holding the first k chunks reconstructs each
element as μ_e + E_q[k − c_e | k in I_e], the conditional mean of its current interval (exactly
μ_e + s_e − c_e once the interval has one value). Nothing about the planes is transmitted.

Numbers are float64 and every interval statistic comes from per-σ cumulative tables of q, v·q and v²·q
(v = k − c). An interval entirely right of the centre is read from its mirror image on the left, where
the cumulative sums are small, so tail masses keep their relative precision. With ``scale_grid="table"``
σ̂ is snapped up to CompressAI's 64-level scale table, so there are at most 64 tables.

CompressAI 1.2.8's ``BufferedRansEncoder.flush()`` crashes (segfault, "double free") on a stream of
0 or 1 symbols: :func:`rans_encode` refuses such a stream, and the schedule never makes one (at least 2
elements are active in plane 0, and the active set only grows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy.special import ndtr, ndtri

SCALE_GRIDS = ("table", "continuous")
PRECISION = 16
DPICT_CHUNKS = (48, 48, 48, 32, 16, 3)  # from the least significant plane up
CTC_CHUNKS = (48, 48, 48, 32, 16)
MAX_TABLE_ENTRIES = 50_000_000  # continuous σ: one table per distinct value


def scale_table() -> np.ndarray:
    """CompressAI's ``get_scale_table()`` (0.11 ... 256, 64 levels, log-spaced), in float64."""
    return np.exp(np.linspace(math.log(0.11), math.log(256.0), 64))


@dataclass(frozen=True)
class TritPlaneConfig:
    """The coder's options (``atc-spec.md``, "Ambiguities"): every one changes the bitstream."""

    rd_planes: int = 5
    chunks: tuple[int, ...] = CTC_CHUNKS  # chunks per RD plane, least significant plane first
    sigma_min: float = 0.04
    tail: float = 1e-9
    L_cap: int = 20
    scale_grid: str = "table"

    def __post_init__(self) -> None:
        object.__setattr__(self, "chunks", tuple(int(k) for k in self.chunks))
        if not isinstance(self.rd_planes, int) or self.rd_planes < 0:
            raise ValueError(f"rd_planes {self.rd_planes!r} must be an integer >= 0 (5: CTC, 6: DPICT)")
        if len(self.chunks) != self.rd_planes or any(k < 1 for k in self.chunks):
            raise ValueError(f"chunks {self.chunks} must give one count >= 1 per RD plane ({self.rd_planes}), "
                             f"least significant first, e.g. {CTC_CHUNKS} for rd_planes=5")
        if self.scale_grid not in SCALE_GRIDS:
            raise ValueError(f"scale_grid {self.scale_grid!r}; choose one of {', '.join(SCALE_GRIDS)}")
        if not 0 < self.tail < 1 or self.sigma_min <= 0 or not 1 <= self.L_cap <= 20:
            raise ValueError(f"tail {self.tail} must lie in (0, 1), sigma_min {self.sigma_min} be > 0 and "
                             f"L_cap {self.L_cap} lie in 1..20")

    @property
    def t_star(self) -> float:
        return float(-ndtri(self.tail / 2))


# ------------------------------------------------------------------------------------------- plan


@dataclass
class Plan:
    """What encoder and decoder derive from σ̂ alone: planes, supports, tables, the chunk schedule."""

    L: int
    levels: np.ndarray  # L_e per element (int64)
    centre: np.ndarray  # c_e = (3^{L_e} - 1) / 2
    offset: np.ndarray  # start of the element's table in the cumulative arrays
    cq: np.ndarray  # cumulative q, then v*q, then v^2*q, per table, each with a leading 0
    cv: np.ndarray
    cv2: np.ndarray
    schedule: list[list[int]] = field(default_factory=list)  # per plane: the chunk sizes (trits)

    @property
    def n_chunks(self) -> int:
        return sum(len(s) for s in self.schedule)


def snapped_scales(sigma: np.ndarray, cfg: TritPlaneConfig) -> np.ndarray:
    """σ_e = max(σ̂_e, sigma_min), snapped up to the scale table when ``scale_grid="table"``."""
    s = np.maximum(np.asarray(sigma, dtype=np.float64).reshape(-1), cfg.sigma_min)
    if cfg.scale_grid == "table":
        table = scale_table()
        s = table[np.minimum(np.searchsorted(table, s, side="left"), len(table) - 1)]
    return s


def plan(sigma: np.ndarray, cfg: TritPlaneConfig) -> Plan:
    """Planes per element, the global plane count L, the q tables and the chunk schedule."""
    s = snapped_scales(sigma, cfg)
    if s.size < 2:
        raise ValueError(f"a trit-plane latent needs at least 2 elements, got {s.size}")
    if not np.all(np.isfinite(s)):
        raise ValueError("σ̂ holds NaN or infinity; the hyperprior output is broken")
    values, inverse = np.unique(s, return_inverse=True)
    want = np.maximum(1, np.ceil(np.log(2 * cfg.t_star * values) / math.log(3))).astype(np.int64)
    own = want[inverse]
    L = int(min(own.max(), cfg.L_cap))
    if np.count_nonzero(own >= L) < 2:  # DPICT's decrement ...
        L -= 1
    while L > 1 and np.count_nonzero(own >= L) < 2:  # ... repeated: at least 2 trits in plane 0 (ours)
        L -= 1
    levels = np.minimum(own, L)
    keys = values.size * (np.minimum(want, L)[inverse] - 1) + inverse  # one table per (σ, L_e)
    ukeys, table_of = np.unique(keys, return_inverse=True)
    sizes = 3 ** (ukeys // values.size + 1)
    if sizes.sum() > MAX_TABLE_ENTRIES:
        raise ValueError(f"{ukeys.size} distinct scales need {sizes.sum()} table entries; use scale_grid='table'")
    starts = np.concatenate([[0], np.cumsum(sizes + 1)[:-1]])
    cq, cv, cv2 = (np.empty(int((sizes + 1).sum())) for _ in range(3))
    for key, start, size in zip(ukeys, starts, sizes):
        v = np.arange(size, dtype=np.float64) - (size - 1) / 2
        pmf = _gaussian_pmf(v, values[key % values.size])
        for out, w in ((cq, pmf), (cv, v * pmf), (cv2, v * v * pmf)):
            out[start] = 0.0
            np.cumsum(w, out=out[start + 1:start + 1 + size])
    p = Plan(L, levels, (3 ** levels - 1) // 2, starts[table_of], cq, cv, cv2)
    p.schedule = _schedule(levels, L, cfg)
    return p


def _gaussian_pmf(v: np.ndarray, sigma: float) -> np.ndarray:
    """q(k) ∝ Φ((v+½)/σ) − Φ((v−½)/σ) + 1e-10 on the support, from the upper tail (exact symmetry)."""
    u = np.abs(v)
    mass = ndtr(-(u - 0.5) / sigma) - ndtr(-(u + 0.5) / sigma)
    mass[u == 0] = 1.0 - 2.0 * ndtr(-0.5 / sigma)
    mass += 1e-10
    return mass / mass.sum()


def _schedule(levels: np.ndarray, L: int, cfg: TritPlaneConfig) -> list[list[int]]:
    out = []
    for i in range(L):
        n = int(np.count_nonzero(levels >= L - i))
        lsb = L - 1 - i
        if lsb < cfg.rd_planes:
            k = min(cfg.chunks[lsb], n // 2)
            size = n // k
            out.append([size] * (k - 1) + [n - size * (k - 1)])
        else:
            out.append([n])
    return out


# ------------------------------------------------------------------------------------------ state


class State:
    """Each element's current interval [a, a + w) of symbol values, and statistics over intervals."""

    def __init__(self, p: Plan):
        self.plan = p
        self.a = np.zeros(p.levels.size, dtype=np.int64)
        self.w = 3 ** p.levels

    def stats(self, idx: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mass, Σ v q, Σ v² q) of q over [lo, hi) for elements idx; right-side intervals via the mirror."""
        p = self.plan
        c = p.centre[idx]
        mirror = lo > c
        lo2, hi2 = np.where(mirror, 2 * c + 1 - hi, lo), np.where(mirror, 2 * c + 1 - lo, hi)
        o = p.offset[idx]
        mass = p.cq[o + hi2] - p.cq[o + lo2]
        first = p.cv[o + hi2] - p.cv[o + lo2]
        second = p.cv2[o + hi2] - p.cv2[o + lo2]
        return mass, np.where(mirror, -first, first), second

    def thirds(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P (n x 3): the probability of each third of the current interval; its conditional mean v and
        variance (n x 3). Needs w >= 3, true of every element before its last plane."""
        a, w3 = self.a[idx], self.w[idx] // 3
        parts = [self.stats(idx, a + t * w3, a + (t + 1) * w3) for t in range(3)]
        mass = np.stack([m for m, _, _ in parts], axis=1)
        mean = np.stack([s1 / m for m, s1, _ in parts], axis=1)
        var = np.stack([s2 / m for m, _, s2 in parts], axis=1) - mean ** 2
        return mass / mass.sum(axis=1, keepdims=True), mean, var

    def values(self) -> np.ndarray:
        """E[v | current interval] per element: exact integers once w = 1, 0 before the first trit."""
        p = self.plan
        out = np.zeros(self.a.size)
        one = self.w == 1
        out[one] = (self.a[one] - p.centre[one]).astype(np.float64)
        mid = np.flatnonzero(~one & (self.w < 3 ** p.levels))
        mass, first, _ = self.stats(mid, self.a[mid], self.a[mid] + self.w[mid])
        out[mid] = first / mass
        return out

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) of v over each element's current interval (CDR clamps to them)."""
        lo = (self.a - self.plan.centre).astype(np.float64)
        return lo, lo + (self.w - 1)

    def refine(self, idx: np.ndarray, trits: np.ndarray) -> None:
        w3 = self.w[idx] // 3
        self.a[idx] += trits * w3
        self.w[idx] = w3


@dataclass
class PlaneContext:
    """What a rate model (CTC's CRR) sees before plane ``plane`` is coded."""

    plane: int
    L: int
    active: np.ndarray  # flat indices of the plane's elements, ascending
    state: State


RateModel = Callable[[PlaneContext, np.ndarray], np.ndarray]  # (context, P of active, n x 3) -> Q (n x 3)


# ------------------------------------------------------------------------------------------- rANS


def quantized_cdfs(prob: np.ndarray) -> np.ndarray:
    """n x 5 CDFs [0, f0, f0+f1, f0+f1+f2, 2^16]; f_t = 1 + ⌊P_t (2^16 − 4)⌋, the tail symbol >= 1."""
    f = 1 + np.floor(np.clip(prob, 0.0, 1.0) * ((1 << PRECISION) - 4)).astype(np.int64)
    cdf = np.zeros((prob.shape[0], 5), dtype=np.int64)
    cdf[:, 1:4] = np.cumsum(f, axis=1)
    cdf[:, 4] = 1 << PRECISION
    return cdf


def rans_encode(symbols: np.ndarray, cdfs: np.ndarray) -> bytes:
    """One rANS stream with a CDF per symbol. Refuses fewer than 2 symbols: CompressAI 1.2.8 crashes."""
    from compressai.ans import BufferedRansEncoder

    n = int(symbols.size)
    if n < 2:
        raise ValueError(f"rANS stream of {n} symbol(s): CompressAI 1.2.8's encoder crashes on fewer than 2; "
                         "the chunk schedule must never produce one")
    enc = BufferedRansEncoder()
    enc.encode_with_indexes(symbols.tolist(), list(range(n)), cdfs.tolist(), [5] * n, [0] * n)
    return enc.flush()


def rans_decode(data: bytes, cdfs: np.ndarray) -> np.ndarray:
    from compressai.ans import RansDecoder

    n = cdfs.shape[0]
    dec = RansDecoder()
    dec.set_stream(data)
    return np.asarray(dec.decode_stream(list(range(n)), cdfs.tolist(), [5] * n, [0] * n), dtype=np.int64)


# ------------------------------------------------------------------------------------------ coder


@dataclass
class Encoded:
    chunks: list[bytes]
    plan: Plan
    ideal_bits: float  # Σ −log2 of the coding probabilities of every trit (no rANS overhead)


class TritPlaneCoder:
    """``encode(y, μ, σ̂) -> chunks``; ``decode(chunks[:k], μ, σ̂) -> ŷ`` for any k (numpy, any shape)."""

    def __init__(self, config: TritPlaneConfig | None = None, **options):
        self.config = config if config is not None else TritPlaneConfig(**options)

    def plan(self, sigma: np.ndarray) -> Plan:
        return plan(sigma, self.config)

    def symbols(self, y: np.ndarray, mu: np.ndarray, p: Plan) -> np.ndarray:
        """s_e = clamp(round(y_e − μ_e) + c_e, 0, 3^{L_e} − 1)."""
        d = np.rint(np.asarray(y, np.float64).reshape(-1) - np.asarray(mu, np.float64).reshape(-1))
        return np.clip(d + p.centre, 0, 3 ** p.levels - 1).astype(np.int64)

    def encode(self, y, mu, sigma, rate_model: RateModel | None = None,
               on_chunk: Callable[[int, State], None] | None = None) -> Encoded:
        p = self.plan(sigma)
        s = self.symbols(y, mu, p)
        state, chunks, bits = State(p), [], 0.0
        for idx, prob in self._walk(p, state, rate_model):
            w3 = state.w[idx] // 3
            trits = (s[idx] - state.a[idx]) // w3
            bits -= float(np.log2(prob[np.arange(idx.size), trits]).sum())
            chunks.append(rans_encode(trits, quantized_cdfs(prob)))
            state.refine(idx, trits)
            if on_chunk:
                on_chunk(len(chunks), state)
        return Encoded(chunks, p, bits)

    def decode(self, chunks: Sequence[bytes], mu, sigma, rate_model: RateModel | None = None,
               on_chunk: Callable[[int, State], None] | None = None) -> tuple[np.ndarray, State]:
        """ŷ (flat, float64) from the first ``len(chunks)`` chunks, and the final state."""
        p = self.plan(sigma)
        if len(chunks) > p.n_chunks:
            raise ValueError(f"{len(chunks)} chunks given, but this latent's schedule has {p.n_chunks}")
        state, k = State(p), 0
        if chunks:
            for idx, prob in self._walk(p, state, rate_model):
                trits = rans_decode(chunks[k], quantized_cdfs(prob))
                if trits.max(initial=0) > 2:
                    raise ValueError(f"chunk {k} decodes to an escape symbol: the stream is corrupt")
                state.refine(idx, trits)
                k += 1
                if on_chunk:
                    on_chunk(k, state)
                if k == len(chunks):
                    break
        mu = np.asarray(mu, np.float64).reshape(-1)
        return mu + state.values(), state

    def _walk(self, p: Plan, state: State, rate_model: RateModel | None):
        """Yield (element indices, coding probabilities) per chunk, in coding order."""
        for i, sizes in enumerate(p.schedule):
            active = np.flatnonzero(p.levels >= p.L - i)
            prob, _, var = state.thirds(active)
            if p.L - 1 - i < self.config.rd_planes:
                order = rd_order(prob, var, state, active)
                active, prob = active[order], prob[order]
            if rate_model is not None:
                ctx = PlaneContext(i, p.L, np.sort(active), state)
                order = np.argsort(active, kind="stable")
                coded = np.empty_like(prob)
                coded[order] = rate_model(ctx, prob[order])
                prob = coded
            start = 0
            for size in sizes:
                yield active[start:start + size], prob[start:start + size]
                start += size


def rd_order(prob: np.ndarray, var3: np.ndarray, state: State, idx: np.ndarray) -> np.ndarray:
    """Descending π = ΔD / ΔR (0 where ΔR = 0), stable: ties keep the lower flat index first."""
    a, w = state.a[idx], state.w[idx]
    mass, first, second = state.stats(idx, a, a + w)
    var = second / mass - (first / mass) ** 2
    gain = np.maximum(var - (prob * var3).sum(axis=1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = -(np.where(prob > 0, prob * np.log2(prob), 0.0)).sum(axis=1)
        pi = np.where(rate > 0, gain / rate, 0.0)
    return np.argsort(-pi, kind="stable")
