"""Codec options are checked against their annotated types: refused when wrong, never coerced."""

import os
from typing import Literal, Sequence

import pytest

from rdbench import cli
from rdbench.codecs import create
from rdbench.codecs.options import conforms


@pytest.mark.parametrize("value", ["no", "nope", 0, 1, None, [True]])
def test_a_bool_option_is_true_or_false_nothing_else(value):
    with pytest.raises(TypeError, match=r"codec 'jpeg': option optimize=.* is not true or false"):
        create("jpeg", optimize=value)


def test_well_typed_options_pass_unchanged():
    assert create("jpeg", optimize=False).optimize is False
    assert create("jpeg", points=[20, 50]).points() == [20, 50]
    assert create("hevc444", threads=None, qp_offset=0).qp_offset == 0
    assert create("vtm", extra_args=["--SEIDecodedPictureHash=1"], timeout=60).timeout == 60


def test_unknown_options_and_wrong_types_name_the_codec_option_and_type():
    with pytest.raises(TypeError, match="codec 'webp' has no option 'quality'; its options are: points, method"):
        create("webp", quality=3)
    with pytest.raises(TypeError, match="option method='6' .* is not an integer"):
        create("webp", method="6")
    with pytest.raises(TypeError, match="option extra_args='--Profile=main_10' .* is not a list of a string"):
        create("vtm", extra_args="--Profile=main_10")


def test_the_checker_reads_unions_sequences_literals_and_numbers():
    assert conforms(3, float) and not conforms(True, float) and not conforms(True, int)
    assert conforms(None, int | None) and not conforms("3", int | None)
    assert conforms("a/b", str | os.PathLike | None)
    assert conforms(["a"], Sequence[str]) and not conforms("a", Sequence[str]) and not conforms([1], Sequence[str])
    assert conforms("444", Literal["444", "420"]) and not conforms("411", Literal["444", "420"])


def test_rdbench_run_refuses_a_mistyped_option_before_any_work(tmp_path, capsys):
    code = cli.main(["run", "--codec", "jpeg", "--dataset", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"),
                     "--option", "optimize=nope"])
    assert code == 1
    assert "option optimize='nope' (str) is not true or false" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_rdbench_run_refuses_an_unknown_metric_before_any_work(tmp_path, capsys):
    code = cli.main(["run", "--codec", "jpeg", "--dataset", "kodak", "--out", str(tmp_path / "o"),
                     "--metrics", "psnr-rgb", "psnr"])
    assert code == 1 and "unknown metric 'psnr'. Did you mean" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
