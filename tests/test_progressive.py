"""Progressive codecs in the harness, with the real trit-plane coder (``dpict``, random weights).

The model is RANDOM-INIT at N = 32 (not DPICT's 192, so a Kodak image codes in about a second on one
core), with two changes that make its latent span several planes, labelled in the sidecar: g_a's last
convolution x 8, and the entropy parameters' σ̂ half set to per-channel constants from 0.3 to 30. It
tests the bitstream, the prefixes and determinism, never rate-distortion performance (PSNR ~7-9 dB).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

from rdbench import results, run  # noqa: E402
from rdbench.codecs import CodecError, codecs  # noqa: E402
from rdbench.codecs.learned import coding_context, load_model, save_weights, weights_path  # noqa: E402
from rdbench.codecs.tritplane import GRID_25, DPICTCodec, chunks_at, truncation_key  # noqa: E402
from rdbench.images import read_png, to_tensor  # noqa: E402
from rdbench.models.tritformat import TritFile  # noqa: E402
from rdbench.models.tritnet import TritPlaneNet  # noqa: E402

RANDOM = ("random init, N=32, g_a's last conv x 8, σ̂ = per-channel constants 0.3..30: format, prefix and "
          "determinism tests only, not a trained codec")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

for _name, _target in (("dpict", "DPICTCodec"), ("ctc", "CTCCodec"), ("atc", "ATCCodec")):
    if _name not in codecs:  # an editable install made before the entry points were added
        codecs.register(_name, f"rdbench.codecs.tritplane:{_target}", origin="tests (pyproject entry point)")


def random_model(preset: str = "dpict", N: int = 32, seed: int = 0) -> TritPlaneNet:
    torch.manual_seed(seed)
    model = TritPlaneNet(preset=preset, N=N).eval()
    with torch.no_grad():
        model.g_a[7].weight.mul_(8.0)
        model.g_a[7].bias.mul_(8.0)
        last = model.entropy_parameters[-1]
        last.weight[:N].mul_(0.01)
        last.bias[:N] = torch.exp(torch.linspace(np.log(0.3), np.log(30.0), N))
    return model


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    save_weights(random_model(), weights_path("dpict", 1, root), {"notes": RANDOM, "lambda": None})
    return root


@pytest.fixture(scope="module")
def coded(random_weights, kodim, tmp_path_factory):
    """One Kodak image (kodim23, 768 x 512) through the harness: encode once, 24 prefixes decoded."""
    tmp = tmp_path_factory.mktemp("progressive")
    (tmp / "one").mkdir()
    (tmp / "one" / "kodim23.png").write_bytes(kodim(23).read_bytes())
    index = run.prepare(str(tmp / "one"), tmp / "images")
    options = {"points": list(GRID_25), "weights_dir": str(random_weights)}
    coding = run.code_cell("dpict", options, index, "stream", tmp / "coded")
    cell = run.measure_cell(coding, index, ["psnr-rgb"], tmp / "cells" / "one" / "dpict" / "stream.json")
    return {"tmp": tmp, "index": index, "coding": coding, "cell": results.read_cell(cell), "options": options}


def test_one_encode_many_prefixes_bpp_rising(coded):
    cell, coded_dir = coded["cell"], coded["coding"].parent
    recs = cell["records"]
    assert [r["point"] for r in recs] == list(GRID_25) and len(recs) >= 20
    assert cell["point"] == "stream" and cell["point_kind"] == "truncation"
    stream = (coded_dir / "kodim23.bin").read_bytes()
    for r in recs:
        prefix = (coded_dir / f"kodim23--{r['point']}.bin").read_bytes()
        assert stream.startswith(prefix) and len(prefix) == r["bytes"]  # rate = the prefix file's size
        assert r["bpp"] == 8 * r["bytes"] / (768 * 512) and r["encode_once"] and r["stream_bytes"] == len(stream)
    assert np.all(np.diff([r["bpp"] for r in recs]) > 0)
    offsets = cell["truncations"]["kodim23"]
    assert offsets["points"] == {r["point"]: r["bytes"] for r in recs}
    assert offsets["chunk_offsets"][-1] == len(stream) and len(offsets["chunk_offsets"]) > 100
    assert set(offsets["points"].values()) <= set(offsets["chunk_offsets"])  # every point is a chunk boundary
    psnr = [r["metrics"]["psnr-rgb"] for r in recs]
    assert len({r["recon_sha256"] for r in recs}) > 10 and all(5 < p < 40 for p in psnr)
    print("\ndpict random-init (N=32) kodim23, one encode:")
    for r, p in zip(recs, psnr):
        print(f"  {r['point']:>10}  {r['bytes']:7d} bytes  {r['bpp']:.4f} bpp  PSNR {p:.3f} dB")


def test_prefixes_decode_bit_exactly_in_a_fresh_process(coded, random_weights):
    coded_dir = coded["coding"].parent
    script = ("import sys, hashlib, json; from rdbench.codecs.tritplane import DPICTCodec\n"
              "codec = DPICTCodec(weights_dir=sys.argv[1]); out = {}\n"
              "for label in sys.argv[3:]:\n"
              "    codec.decode(f'{sys.argv[2]}/kodim23--{label}.bin', f'{sys.argv[2]}/fresh.png')\n"
              "    out[label] = hashlib.sha256(open(f'{sys.argv[2]}/fresh.png', 'rb').read()).hexdigest()\n"
              "print(json.dumps(out))")
    proc = subprocess.run([sys.executable, "-c", script, str(random_weights), str(coded_dir), *GRID_25],
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = json.loads(proc.stdout.strip().splitlines()[-1])
    here = {label: hashlib.sha256((coded_dir / f"kodim23--{label}.png").read_bytes()).hexdigest()
            for label in GRID_25}
    assert fresh == here


def test_latent_error_never_increases_over_the_truncation_points(coded, random_weights, kodim):
    model, _ = load_model("dpict", 1, random_weights)
    x = to_tensor(read_png(kodim(23)))  # 768 x 512: a multiple of 64, no padding
    mse = []
    with coding_context():
        y = model.g_a(x)
        z = model.h_a(y)
        scales, means = model.hyper(model.entropy_bottleneck.decompress(model.entropy_bottleneck.compress(z),
                                                                        z.shape[-2:]))
        y, mu = y.double().numpy().reshape(-1), means.double().numpy().reshape(-1)
        mse.append(np.mean((mu - y) ** 2))
        enc = model.coder.encode(y, mu, scales.double().numpy(),
                                 on_chunk=lambda k, s: mse.append(np.mean((mu + s.values() - y) ** 2)))
    stream = TritFile.from_bytes((coded["coding"].parent / "kodim23.bin").read_bytes())
    assert stream.chunks == enc.chunks  # the file holds exactly this encode
    mse = np.array(mse)
    # float64 rounding of a conditional mean that does not move (a symmetric interval's middle third)
    assert np.all(np.diff(mse) <= 1e-12 * mse[:-1])
    assert mse[-1] < 0.1 * mse[0] and enc.plan.L >= 5
    at = mse[[chunks_at(p, enc.plan.schedule) for p in GRID_25]]
    print("\nlatent MSE at the points:", " ".join(f"{v:.4g}" for v in at))
    # strictly better at every point of the last two planes; in the top planes only the few elements with
    # σ̂ far above their |y - μ| are refined, and a middle third keeps a conditional mean of ~0 (flat MSE)
    assert np.all(np.diff(at)[-10:] < 0)


def test_rd_csv_has_every_point_and_the_plot_draws_one_line(coded):
    from rdbench.report.plots import mean_curve, plot_rd

    csv = coded["tmp"] / "one" / "rd.csv"
    assert run.aggregate([coded["tmp"] / "cells" / "one" / "dpict" / "stream.json"], csv) == len(GRID_25)
    df = results.read_rd_csv(csv)
    assert sorted(df["point"]) == sorted(GRID_25) and set(df["point_kind"]) == {"truncation"}
    x, y = mean_curve(df, "dpict", "psnr-rgb")
    assert len(x) == len(GRID_25) and np.all(np.diff(x) > 0)
    paths = plot_rd(df, "one", "psnr-rgb", None, coded["tmp"] / "plots" / "psnr-rgb")
    assert all(p.stat().st_size > 1000 for p in paths)


def test_a_rerun_reuses_the_coded_images(coded):
    before = (coded["coding"].parent / "kodim23.bin").stat().st_mtime_ns
    run.code_cell("dpict", coded["options"], coded["index"], "stream", coded["coding"].parent)
    assert (coded["coding"].parent / "kodim23.bin").stat().st_mtime_ns == before


def test_errors_name_the_setting(coded, random_weights, tmp_path):
    with pytest.raises(ValueError, match="lsb-K@F"):
        DPICTCodec(points=["lsb-2@1.5"])
    with pytest.raises(ValueError, match="ascending rate"):
        DPICTCodec(points=["lsb-0@1", "lsb-1@1"])
    with pytest.raises(ValueError, match="progressive"):
        run.code_cell("dpict", coded["options"], coded["index"], "lsb-0@1", tmp_path / "x")
    codec = DPICTCodec(weights_dir=random_weights)
    stream = (coded["coding"].parent / "kodim23.bin").read_bytes()
    offsets = codec.chunk_offsets(coded["coding"].parent / "kodim23.bin")
    (tmp_path / "cut.bin").write_bytes(stream[:offsets[30] + 2])
    with pytest.raises(CodecError, match=f"partial chunk 30 starting at byte {offsets[30]}"):
        codec.decode(tmp_path / "cut.bin", tmp_path / "cut.png")
    assert not DPICTCodec(weights_dir=tmp_path).available()
    assert "rdbench train dpict" in DPICTCodec(weights_dir=tmp_path).available().reason
    assert truncation_key("full") > truncation_key("lsb-0@1") > truncation_key("lsb-1@0.25")


def test_a_64x64_image_never_hands_rans_a_stream_under_two_symbols(random_weights, crop, tmp_path, monkeypatch):
    """The spec's rANS guard on a small picture (a 4 x 4 latent: small planes); and the single-point
    ``encode`` of the plain codec contract writes exactly that point's prefix of the stream."""
    from rdbench.images import write_png
    from rdbench.models import tritplane

    sizes, real = [], tritplane.rans_encode
    monkeypatch.setattr(tritplane, "rans_encode", lambda s, c: (sizes.append(s.size), real(s, c))[1])
    codec = DPICTCodec(weights_dir=random_weights, points=["lsb-1@0.5", "full"])
    src = tmp_path / "small.png"
    write_png(src, crop(64, 64))
    offsets = codec.encode_stream(src, tmp_path / "stream.trit")
    assert sizes and min(sizes) >= 2
    codec.encode(src, "lsb-1@0.5", tmp_path / "one.trit")
    one = (tmp_path / "one.trit").read_bytes()
    assert one == (tmp_path / "stream.trit").read_bytes()[:offsets["lsb-1@0.5"]] and offsets["full"] > len(one)
    codec.decode(tmp_path / "one.trit", tmp_path / "one.png")
    assert read_png(tmp_path / "one.png").shape == (64, 64, 3)


def test_rdbench_run_codes_the_stream_cell_at_the_points_asked(random_weights, crop, tmp_path):
    """`rdbench run dpict --points ...` (rdbench.run.run): the one stream cell, at the points given."""
    from rdbench.images import write_png

    (tmp_path / "crops").mkdir()
    for i, (top, left) in enumerate([(0, 0), (200, 300)]):
        write_png(tmp_path / "crops" / f"c{i}.png", crop(128, 192, top, left))
    csv = run.run("dpict", str(tmp_path / "crops"), tmp_path / "out", points=["lsb-1@0.5", "full"],
                  metric_names=("psnr-rgb",), options={"weights_dir": str(random_weights)})
    df = results.read_rd_csv(csv)
    assert sorted(set(df["point"])) == ["full", "lsb-1@0.5"] and len(df) == 4
    assert (tmp_path / "out" / "cells" / "crops" / "dpict" / "stream.json").is_file()
    for _, image in df.groupby("image"):
        assert image.set_index("point").loc["lsb-1@0.5", "bytes"] < image.set_index("point").loc["full", "bytes"]
