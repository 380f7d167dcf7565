"""Small command-line traps: arguments in the documented order, a variant named twice."""

import numpy as np
import pytest

from rdbench import cli, images


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    images.write_png(tmp_path / "a.png", ref)
    images.write_png(tmp_path / "b.png", np.clip(ref.astype(int) + 3, 0, 255).astype(np.uint8))
    return str(tmp_path / "a.png"), str(tmp_path / "b.png")


def test_options_may_come_before_the_images(pair, capsys):
    assert cli.main(["metric", "psnr-rgb", "--json", *pair]) == 0
    assert '"metric": "psnr-rgb"' in capsys.readouterr().out
    args = cli.parse(cli.build_parser(), ["metric", "lpips", "--variant", "alex", *pair])
    assert (args.name, args.variant, args.reference, args.distorted) == ("lpips", "alex", *pair)


def test_unknown_arguments_are_still_refused(pair, capsys):
    with pytest.raises(SystemExit):
        cli.main(["metric", "psnr-rgb", *pair, "extra.png"])
    assert "unrecognized arguments: extra.png" in capsys.readouterr().err


def test_a_variant_named_twice_differently_is_refused(pair, capsys):
    assert cli.main(["metric", "lpips:alex", "--variant", "vgg", *pair]) == 1
    assert "'lpips:alex' names variant 'alex' and --variant says 'vgg'" in capsys.readouterr().err
