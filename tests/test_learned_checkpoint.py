"""Any checkpoint in one command: `rdbench run --codec learned --model MOD:CLASS --kwargs ... --weights FILE`.

The model is a tiny custom CompressAI-style class defined here, with RANDOM weights saved as safetensors:
these tests check loading, coding, provenance and the error paths, never rate-distortion performance.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

from compressai.entropy_models import EntropyBottleneck  # noqa: E402
from compressai.layers import GDN  # noqa: E402
from compressai.models import CompressionModel  # noqa: E402
from compressai.models.utils import conv, deconv  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from rdbench import images  # noqa: E402
from rdbench.cli import main as cli_main  # noqa: E402
from rdbench.datasets import sha256_file  # noqa: E402

TARGET = "test_learned_checkpoint:TinyFactorized"  # tests/ is on sys.path under pytest


class TinyFactorized(CompressionModel):
    """A user's own model: two strided convolutions each way around a factorized prior."""

    def __init__(self, N: int = 8, M: int = 12):
        super().__init__()
        self.entropy_bottleneck = EntropyBottleneck(M)
        self.g_a = torch.nn.Sequential(conv(3, N), GDN(N), conv(N, M))
        self.g_s = torch.nn.Sequential(deconv(M, N), GDN(N, inverse=True), deconv(N, 3))
        self.pad_multiple = 16

    def forward(self, x):
        y_hat, likelihoods = self.entropy_bottleneck(self.g_a(x))
        return {"x_hat": self.g_s(y_hat), "likelihoods": {"y": likelihoods}}

    def compress(self, x):
        y = self.g_a(x)
        return {"strings": [self.entropy_bottleneck.compress(y)], "shape": y.size()[-2:]}

    def decompress(self, strings, shape):
        return {"x_hat": self.g_s(self.entropy_bottleneck.decompress(strings[0], shape)).clamp_(0, 1)}


def random_weights(path: Path, seed: int, tables: bool, **kwargs) -> Path:
    torch.manual_seed(seed)
    model = TinyFactorized(**kwargs)
    if tables:
        model.update(force=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


@pytest.fixture
def tiny_dataset(tmp_path, crop):
    folder = tmp_path / "tiny"
    folder.mkdir()
    for i, (top, left) in enumerate([(0, 0), (300, 500)]):
        images.write_png(folder / f"tiny{i}.png", crop(40, 56, top, left))
    return folder


@pytest.mark.usefixtures("kodak_dir")
def test_a_custom_class_from_safetensors_is_benchmarked_with_its_own_provenance(tmp_path, tiny_dataset,
                                                                               one_torch_thread):
    w1 = random_weights(tmp_path / "mine-q1.safetensors", seed=1, tables=False, N=8, M=12)  # saved before update()
    w2 = random_weights(tmp_path / "mine-q2.safetensors", seed=2, tables=True, N=8, M=12)
    out = tmp_path / "run"
    args = ["run", "--codec", "learned", "--model", TARGET, "--kwargs", "N=8,M=12", "--weights", f"1={w1}",
            "--weights", f"2={w2}", "--dataset", str(tiny_dataset), "--out", str(out), "--metrics", "psnr-rgb"]
    assert cli_main(args) == 0
    with open(out / "tiny/rd.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["point"], r["image"]) for r in rows) == [("1", "tiny0"), ("1", "tiny1"), ("2", "tiny0"),
                                                              ("2", "tiny1")]
    assert all(r["codec"] == "learned" and float(r["bpp"]) > 0 and float(r["psnr-rgb"]) > 0 for r in rows)
    cell = json.loads((out / "cells/tiny/learned/1.json").read_text())
    codec = cell["manifest"]["codec"]
    assert codec["model"] == TARGET and codec["kwargs"] == {"N": 8, "M": 12} and codec["device"] == "cpu"
    assert codec["weights"] == {"1": {"path": str(w1), "sha256": sha256_file(w1),
                                      "source": "the user's checkpoint (a safetensors file named by the `weights` "
                                                "option)"},
                                "2": {"path": str(w2), "sha256": sha256_file(w2),
                                      "source": "the user's checkpoint (a safetensors file named by the `weights` "
                                                "option)"}}
    assert codec["cdf_tables"] == {"1": "computed at load by update(force=True) (the file has none)",
                                   "2": "stored in the file"}
    text = json.dumps(cell)
    assert "CompressAI published" not in text and "lambda" not in text
    assert cell["manifest"]["options"]["weights"] == {"1": str(w1), "2": str(w2)} or \
        cell["manifest"]["options"]["weights"] == {1: str(w1), 2: str(w2)}
    # --point with one file; the same model named by its file path instead of its module
    out2 = tmp_path / "run2"
    assert cli_main(["run", "--codec", "learned", "--model", f"{Path(__file__)}:TinyFactorized", "--kwargs",
                     "N=8,M=12", "--weights", str(w2), "--point", "2", "--dataset", str(tiny_dataset), "--out",
                     str(out2), "--metrics", "psnr-rgb"]) == 0
    again = {r["image"]: r["bpp"] for r in csv.DictReader(open(out2 / "tiny/rd.csv"))}
    assert again == {r["image"]: r["bpp"] for r in rows if r["point"] == "2"}  # same weights, same files


def test_bad_learned_settings_are_named_before_any_work(tmp_path, tiny_dataset, capsys):
    w = random_weights(tmp_path / "w.safetensors", seed=0, tables=True)
    pickled = tmp_path / "mine.pth.tar"
    torch.save(TinyFactorized().state_dict(), pickled)
    base = ["run", "--codec", "learned", "--dataset", str(tiny_dataset), "--metrics", "psnr-rgb"]
    cases = {
        "pickle-based checkpoint; rdbench reads only safetensors. Convert it once: `rdbench learned convert":
            ["--model", TARGET, "--weights", str(pickled)],
        "weights file for point 1 not found": ["--model", TARGET, "--weights", str(tmp_path / "nope.safetensors")],
        "write it as pkg.module:Class": ["--model", "no colon", "--weights", str(w)],
        "module no_such_pkg.models is not importable here": ["--model", "no_such_pkg.models:Net", "--weights", str(w)],
        "--kwargs 'N128': 'N128' is not NAME=VALUE": ["--model", TARGET, "--kwargs", "N128", "--weights", str(w)],
    }
    for message, extra in cases.items():
        out = tmp_path / f"out{len(message)}"
        assert cli_main(base + extra + ["--out", str(out)]) == 1
        assert message in capsys.readouterr().err
        assert not out.exists()  # refused before preparing anything
    assert cli_main(["run", "--codec", "jpeg", "--model", TARGET, "--dataset", str(tiny_dataset), "--out",
                     str(tmp_path / "j")]) == 1
    assert "--model: only for --codec learned" in capsys.readouterr().err


@pytest.mark.usefixtures("kodak_dir")
def test_weights_that_do_not_fit_the_class_say_so(tmp_path, tiny_dataset, one_torch_thread, capsys):
    w = random_weights(tmp_path / "w.safetensors", seed=0, tables=True, N=8, M=12)
    assert cli_main(["run", "--codec", "learned", "--model", TARGET, "--kwargs", "N=8,M=16", "--weights", str(w),
                     "--dataset", str(tiny_dataset), "--out", str(tmp_path / "o"), "--metrics", "psnr-rgb"]) == 1
    assert f"{w} does not fit {TARGET}(N=8, M=16)" in capsys.readouterr().err


def test_the_config_form_is_checked_like_any_codec(tmp_path, tiny_dataset):
    from rdbench import config as rdconfig

    w = random_weights(tmp_path / "w.safetensors", seed=0, tables=True)
    config = {"datasets": [str(tiny_dataset)], "metrics": ["psnr-rgb"], "anchor": "jpeg", "published": {},
              "codecs": {"jpeg": {"points": [50]},
                         "learned": {"model": TARGET, "kwargs": {"N": 8, "M": 12}, "weights": {3: str(w)}}}}
    ready, skipped = rdconfig.check(config)
    assert ready["learned"] == ["3"] and not skipped
    assert rdconfig.codec_setting(config, "learned")["weights_sha256"] == {"3": sha256_file(w)}
    config["codecs"]["learned"]["device"] = "cuda"
    if not torch.cuda.is_available():
        assert "no GPU here" in rdconfig.check(config)[1]["learned"]


def test_convert_says_it_executes_pickle_and_writes_where_the_user_says(tmp_path, monkeypatch, capsys):
    from rdbench.codecs import create

    torch.manual_seed(5)
    model = TinyFactorized()
    pickled = tmp_path / "mine-q1.pth.tar"
    torch.save({"epoch": 9, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, pickled)
    monkeypatch.delenv("RDBENCH_WEIGHTS", raising=False)
    convert = ["learned", "convert", str(pickled), "--model", TARGET, "--kwargs", "N=8,M=12"]
    assert cli_main(convert) == 1
    assert "say where the weights go: --out FILE.safetensors or RDBENCH_WEIGHTS=DIR" in capsys.readouterr().err
    monkeypatch.setenv("RDBENCH_WEIGHTS", str(tmp_path / "w"))
    assert cli_main(convert) == 0
    err = capsys.readouterr().err
    assert "this executes pickle" in err and "only for your own files" in err
    out = tmp_path / "w" / "mine-q1.safetensors"
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["converted_from"] == {"file": str(pickled), "sha256": sha256_file(pickled)}
    assert record["sha256"] == sha256_file(out) and record["kwargs"] == {"N": 8, "M": 12}
    weights = create("learned", model=TARGET, kwargs={"N": 8, "M": 12}, weights=str(out)).describe()["weights"]["1"]
    assert weights["converted_from"]["sha256"] == sha256_file(pickled)
    assert weights["source"] == "the user's checkpoint, converted by `rdbench learned convert`"
    assert cli_main(convert) == 1 and "pass --force" in capsys.readouterr().err


def test_import_writes_nowhere_unasked_and_claims_published_provenance_only_for_the_published_file(
        tmp_path, monkeypatch, capsys):
    from compressai.models import FactorizedPrior

    from rdbench.codecs.learned import BMSHJ2018Factorized

    torch.manual_seed(0)
    ckpt = tmp_path / "q1.pth.tar"
    torch.save(FactorizedPrior(128, 192).state_dict(), ckpt)
    monkeypatch.delenv("RDBENCH_WEIGHTS", raising=False)
    assert cli_main(["learned", "import", "bmshj2018-factorized", "1", str(ckpt)]) == 1
    assert "say where the weights go: --weights-dir or RDBENCH_WEIGHTS=DIR" in capsys.readouterr().err
    prefix = sha256_file(ckpt)[:8]  # as if this file were the one CompressAI publishes for quality 1
    monkeypatch.setattr(BMSHJ2018Factorized, "published_url",
                        classmethod(lambda cls, q: f"https://example.invalid/bmshj2018-factorized-prior-1-{prefix}.pth.tar"))
    assert cli_main(["learned", "import", "bmshj2018-factorized", "1", str(ckpt), "--weights-dir",
                     str(tmp_path / "w")]) == 0
    meta = json.loads((tmp_path / "w/bmshj2018-factorized/1.json").read_text())
    assert meta["source"]["kind"] == "CompressAI published weights" and meta["lambda"] == 0.0018


@pytest.mark.usefixtures("kodak_dir")
def test_points_limits_the_availability_check_to_the_points_run(tmp_path, tiny_dataset, one_torch_thread):
    """A zoo codec with weights for point 1 only runs `--points 1` (it used to ask for points 2-8)."""
    from rdbench.codecs.learned import build_model, save_weights, weights_path

    torch.manual_seed(0)
    save_weights(build_model("FactorizedPrior", {"N": 128, "M": 192}),
                 weights_path("bmshj2018-factorized", 1, tmp_path / "w"),
                 {"architecture": "FactorizedPrior", "kwargs": {"N": 128, "M": 192}, "notes": "random init"})
    args = ["run", "--codec", "bmshj2018-factorized", "--points", "1", "--option", f"weights_dir={tmp_path / 'w'}",
            "--dataset", str(tiny_dataset), "--images", "1", "--out", str(tmp_path / "o"), "--metrics", "psnr-rgb"]
    assert cli_main(args) == 0
    cell = json.loads((tmp_path / "o/cells/tiny/bmshj2018-factorized/1.json").read_text())
    assert list(cell["manifest"]["codec"]["weights"]) == ["1"]  # the manifest describes what ran, nothing missing
