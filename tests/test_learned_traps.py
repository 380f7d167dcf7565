"""Learned codecs: `learned list` shows each file's own sha256; one point's weights code that point."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

from rdbench import images, results, run  # noqa: E402
from rdbench.cli import main as cli_main  # noqa: E402
from rdbench.codecs.learned import build_model, save_weights, weights_path  # noqa: E402

KWARGS = {"N": 8, "M": 8}
RANDOM = "random init: tests only"


@pytest.fixture
def root(tmp_path):
    """Weights for bmshj2018-factorized at point 1 only (random init, small)."""
    torch.manual_seed(0)
    save_weights(build_model("FactorizedPrior", KWARGS), weights_path("bmshj2018-factorized", 1, tmp_path / "w"),
                 {"architecture": "FactorizedPrior", "kwargs": KWARGS, "notes": RANDOM})
    return tmp_path / "w"


def test_learned_list_shows_the_files_own_sha256_and_a_mismatch(root, capsys):
    path = weights_path("bmshj2018-factorized", 1, root)
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["sha256"] = "0" * 64  # a sidecar that claims another file
    sidecar.write_text(json.dumps(meta))
    assert cli_main(["learned", "list", "--weights-dir", str(root), "--json"]) == 1
    row = next(r for r in json.loads(capsys.readouterr().out) if r["codec"] == "bmshj2018-factorized"
               and r["point"] == 1)
    assert row["sha256"] == file_sha(path) and row["sidecar_sha256"] == "0" * 64
    assert row["status"] == "SHA256 MISMATCH"


def file_sha(path):
    from rdbench.datasets import sha256_file

    return sha256_file(path)


def test_a_learned_codec_codes_the_one_point_it_has_weights_for(root, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    images.write_png(folder / "a.png", np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8))
    csv = run.run("bmshj2018-factorized", str(folder), tmp_path / "out", points=["1"], metric_names=["psnr-rgb"],
                  options={"weights_dir": str(root)})
    assert len(csv.read_text().splitlines()) == 2
    with pytest.raises(run.CodecUnavailable, match="not available: no weights for point 2 in "):
        run.run("bmshj2018-factorized", str(folder), tmp_path / "out", points=["2"], metric_names=["psnr-rgb"],
                options={"weights_dir": str(root)})


def test_ablate_names_a_weights_file_it_cannot_read(tmp_path, capsys):
    bad = tmp_path / "w.safetensors"
    bad.write_bytes(b"\xff" * 16)  # a header length far past the end of the file
    assert cli_main(["ablate", "treenet", "--image", str(bad), "--out", str(tmp_path / "o"),
                     "--weights", str(bad)]) == 1
    assert f"{bad}: not TreeNet weights in safetensors format (SafetensorError" in capsys.readouterr().err
