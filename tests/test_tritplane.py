"""The trit-plane coder (rdbench.models.tritplane) and its file (tritformat) against atc-spec.md's identities.

No network here: synthetic latents from a fixed seed, 1,536 elements with σ log-uniform in [0.05, 40]
(the spec's example), y = μ + σ·N(0, 1). Everything is coded with CompressAI's real rANS.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("compressai")

from rdbench.models import tritplane as tp  # noqa: E402
from rdbench.models.format import FormatError  # noqa: E402
from rdbench.models.tritformat import TritFile, options_hash  # noqa: E402


def _latent(n: int = 1536, seed: int = 0):
    rng = np.random.default_rng(seed)
    sigma = np.exp(rng.uniform(np.log(0.05), np.log(40.0), n))
    mu = rng.normal(0.0, 3.0, n)
    y = mu + sigma * rng.normal(size=n)
    y[5] = mu[5] + 60 * sigma[5] + 2  # an outlier beyond the support: clamped, lossy even at full rate
    return y, mu, sigma


@pytest.fixture(scope="module")
def coded():
    """CTC's schedule on the synthetic latent: the encoder's reconstruction after every chunk."""
    y, mu, sigma = _latent()
    coder = tp.TritPlaneCoder(rd_planes=5, chunks=tp.CTC_CHUNKS)
    trace = []
    enc = coder.encode(y, mu, sigma, on_chunk=lambda k, s: trace.append(mu + s.values()))
    return coder, (y, mu, sigma), enc, trace


def _direct_bits(coder, y, mu, sigma, p) -> float:
    """Σ −log2 q(s_e): coding each symbol directly with the same discrete Gaussian."""
    s, scales, bits = coder.symbols(y, mu, p), tp.snapped_scales(sigma, coder.config), 0.0
    for e in range(s.size):
        size = 3 ** int(p.levels[e])
        bits -= np.log2(tp._gaussian_pmf(np.arange(size) - (size - 1) / 2, scales[e])[s[e]])
    return bits


@pytest.mark.parametrize("scale_grid", ["table", "continuous"])
def test_trit_information_equals_direct_coding(scale_grid):
    y, mu, sigma = _latent(n=400 if scale_grid == "continuous" else 1536)
    coder = tp.TritPlaneCoder(scale_grid=scale_grid)
    enc = coder.encode(y, mu, sigma)
    direct = _direct_bits(coder, y, mu, sigma, enc.plan)
    assert abs(enc.ideal_bits - direct) / direct < 1e-12
    # the real rANS bytes: close to the ideal plus ~8 bytes of flush per chunk
    payload = sum(map(len, enc.chunks))
    assert enc.ideal_bits / 8 < payload < enc.ideal_bits / 8 + 10 * len(enc.chunks)


def test_full_decode_is_the_rounded_latent_exactly(coded):
    coder, (y, mu, sigma), enc, trace = coded
    y_hat, _ = coder.decode(enc.chunks, mu, sigma)
    p = enc.plan
    expected = mu + np.clip(np.rint(y - mu), -p.centre, p.centre)
    assert np.array_equal(y_hat, expected)
    assert np.array_equal(trace[-1], expected)
    assert np.count_nonzero(np.abs(np.rint(y - mu)) > p.centre) == 1  # the outlier is clamped


def test_truncation_point_count(coded):
    coder, _, enc, _ = coded
    p, cfg = enc.plan, coder.config
    assert p.L == 6
    assert p.n_chunks == len(enc.chunks) == (p.L - cfg.rd_planes) + sum(cfg.chunks) == 193


def test_every_prefix_decodes_to_the_encoders_intermediate(coded):
    coder, (_, mu, sigma), enc, trace = coded
    y0, _ = coder.decode([], mu, sigma)
    assert np.array_equal(y0, mu)  # no chunk: every element at μ
    for k in range(1, len(enc.chunks) + 1):
        y_k, _ = coder.decode(enc.chunks[:k], mu, sigma)
        assert np.array_equal(y_k, trace[k - 1]), f"prefix of {k} chunks"


def test_latent_error_never_increases(coded):
    _, (y, mu, _), enc, trace = coded
    mse = np.array([np.mean((mu - y) ** 2)] + [np.mean((t - y) ** 2) for t in trace])
    assert np.count_nonzero(np.diff(mse) > 0) == 0
    inliers = np.arange(y.size) != 5
    assert np.mean((trace[-1] - y)[inliers] ** 2) < 1 / 12 + 0.01  # uniform rounding error at full rate
    assert mse[-1] < mse[len(enc.plan.schedule) - 5] < mse[0]


def test_rd_order_beats_raster_order_at_matched_rate(monkeypatch):
    y, mu, sigma = _latent(n=6000, seed=3)

    def curve():
        coder, bits, mse = tp.TritPlaneCoder(), [0.0], [np.mean((mu - y) ** 2)]
        enc = coder.encode(y, mu, sigma, on_chunk=lambda k, s: mse.append(np.mean((mu + s.values() - y) ** 2)))
        bits = np.cumsum([0] + [8 * len(c) for c in enc.chunks])
        first_rd = len(enc.plan.schedule) - coder.config.rd_planes  # chunks before the RD region
        return bits[first_rd:], np.array(mse)[first_rd:]

    rd_bits, rd_mse = curve()
    monkeypatch.setattr(tp, "rd_order", lambda prob, var, state, idx: np.arange(idx.size))
    raster_bits, raster_mse = curve()
    grid = np.linspace(max(rd_bits[0], raster_bits[0]), min(rd_bits[-1], raster_bits[-1]), 200)
    rd_at, raster_at = np.interp(grid, rd_bits, rd_mse), np.interp(grid, raster_bits, raster_mse)
    assert rd_at.mean() < 0.9 * raster_at.mean()


def test_rans_guard_never_sees_fewer_than_two_symbols(monkeypatch):
    sizes = []
    real = tp.rans_encode
    monkeypatch.setattr(tp, "rans_encode", lambda s, c: (sizes.append(s.size), real(s, c))[1])
    rng = np.random.default_rng(1)
    # one element far above the rest, none at max - 1: DPICT's single decrement leaves 1 trit in plane 0
    sigma = np.full(64, 0.05)
    sigma[7] = 200.0
    for case in [sigma] + [np.exp(rng.uniform(-3, 5, int(rng.integers(2, 40)))) for _ in range(30)]:
        mu = np.zeros(case.size)
        y = rng.normal(size=case.size) * case
        coder = tp.TritPlaneCoder(rd_planes=6, chunks=tp.DPICT_CHUNKS)
        enc = coder.encode(y, mu, case)
        p = enc.plan
        assert all(np.count_nonzero(p.levels >= p.L - i) >= 2 for i in range(p.L))
        y_hat, _ = coder.decode(enc.chunks, mu, case)
        assert np.array_equal(y_hat, mu + np.clip(np.rint(y), -p.centre, p.centre))
    assert min(sizes) >= 2
    with pytest.raises(ValueError, match="fewer than 2"):
        real(np.array([1]), tp.quantized_cdfs(np.array([[0.2, 0.5, 0.3]])))


def test_quantized_cdfs_keep_every_bin():
    prob = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    cdf = tp.quantized_cdfs(prob)
    assert np.all(np.diff(cdf, axis=1) >= 1) and np.all(cdf[:, 0] == 0) and np.all(cdf[:, -1] == 1 << 16)


def test_bad_options_name_the_setting():
    with pytest.raises(ValueError, match="chunks"):
        tp.TritPlaneConfig(rd_planes=6, chunks=tp.CTC_CHUNKS)
    with pytest.raises(ValueError, match="scale_grid"):
        tp.TritPlaneConfig(scale_grid="fine")


def test_file_prefixes_and_errors(coded):
    _, _, enc, _ = coded
    f = TritFile(options_hash({"preset": "ctc"}), 512, 768, (8, 12), b"zz-string", enc.chunks)
    data, offsets = f.to_bytes()
    assert len(offsets) == len(enc.chunks) + 1 and offsets[-1] == len(data)
    assert np.all(np.diff(offsets) > 0)
    for k in (0, 1, 17, len(enc.chunks)):
        g = TritFile.from_bytes(data[:offsets[k]])
        assert g.chunks == enc.chunks[:k] and g.z_string == b"zz-string" and (g.height, g.width) == (512, 768)
    with pytest.raises(FormatError, match=f"partial chunk 5 starting at byte {offsets[5]}"):
        TritFile.from_bytes(data[:offsets[5] + 3])
    with pytest.raises(FormatError, match="truncated inside the ẑ string"):
        TritFile.from_bytes(data[:20])
    with pytest.raises(FormatError, match="magic"):
        TritFile.from_bytes(b"RDLC" + data[4:])


def test_planes_per_element_follow_the_spec_examples():
    """σ = 0.04, 1, 10, 256 give 1, 3, 5, 8 planes (t* = 6.1094); one element alone at the maximum is not
    enough for plane 0, and the decrement repeats until two are (ours, beyond DPICT's single step)."""
    coder = tp.TritPlaneCoder(scale_grid="continuous", rd_planes=6, chunks=tp.DPICT_CHUNKS)
    assert coder.config.t_star == pytest.approx(6.1094, abs=1e-4)
    p = coder.plan(np.array([0.04, 1.0, 10.0, 256.0, 256.0]))
    assert p.L == 8 and p.levels.tolist() == [1, 3, 5, 8, 8]
    p = coder.plan(np.array([0.04, 1.0, 1.0, 256.0]))  # 8 alone, nothing at 7..4: L falls to 3
    assert p.L == 3 and p.levels.tolist() == [1, 3, 3, 3]
    assert [sum(s) for s in p.schedule] == [3, 3, 4]
