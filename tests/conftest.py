"""Shared fixtures. Real images come from RDBENCH_DATA (e.g. ../shared/datasets), never from the repo."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def data_root() -> Path | None:
    root = os.environ.get("RDBENCH_DATA")
    return Path(root) if root else None


@pytest.fixture(scope="session")
def kodak_dir() -> Path:
    """The folder of the 24 Kodak PNGs; tests that need it are skipped only when RDBENCH_DATA is unset
    outside CI (CI sets it, and there a missing folder fails)."""
    root = data_root()
    if root is None:
        if os.environ.get("CI"):
            pytest.fail("RDBENCH_DATA is not set in CI; .ci/run must export it")
        pytest.skip("set RDBENCH_DATA=/path/to/datasets to run tests on real Kodak images")
    path = root / "kodak"
    if not (path / "kodim01.png").is_file():
        pytest.fail(f"RDBENCH_DATA={root} has no kodak/kodim01.png")
    return path


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """RDBENCH_REFERENCE: a copy of CompressAI's published curves (compressai/kodak/*.json)."""
    root = os.environ.get("RDBENCH_REFERENCE")
    if not root:
        if os.environ.get("CI"):
            pytest.fail("RDBENCH_REFERENCE is not set in CI; .ci/run must export it")
        pytest.skip("set RDBENCH_REFERENCE=/path/to/reference-results to test the published curves")
    return Path(root)


@pytest.fixture(scope="session")
def kodim(kodak_dir):
    """kodim(n) -> path of kodimNN.png."""
    return lambda n: kodak_dir / f"kodim{n:02d}.png"


@pytest.fixture(scope="session")
def photo(kodim) -> Path:
    """One real photo (kodim23, 768x512) for round-trip tests."""
    return kodim(23)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """CLIC 2020 / Tecnick format fixtures (RDBENCH_DATA/samples)."""
    root = data_root()
    if root is None or not (root / "samples").is_dir():
        pytest.skip("RDBENCH_DATA/samples not available")
    return root / "samples"


@pytest.fixture(scope="session")
def crop(photo):
    """crop(h, w) -> a real HxWx3 uint8 crop of the photo (for small, fast tests)."""
    from rdbench.images import load_rgb8

    rgb, _ = load_rgb8(photo)

    def _crop(h: int, w: int, top: int = 100, left: int = 200) -> np.ndarray:
        return np.ascontiguousarray(rgb[top:top + h, left:left + w])

    return _crop


@pytest.fixture
def prepared_noise(tmp_path):
    """prepared_noise(n) -> index.json of n 24x16 uniform-noise PNGs (seed 0) prepared under tmp_path/prep."""

    def make(n: int) -> Path:
        import numpy as np

        from rdbench import images, run

        folder = tmp_path / "set"
        folder.mkdir()
        rng = np.random.default_rng(0)
        for i in range(n):
            images.write_png(folder / f"im{i}.png", rng.integers(0, 256, (16, 24, 3), dtype=np.uint8))
        return run.prepare(str(folder), tmp_path / "prep")

    return make


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a module: pytest-xdist already runs one worker per core."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_terminal_summary(terminalreporter):
    """What a test recorded for the CI log (record_property "slurm": the SLURM job ids of test_slurm.py)."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "slurm":
                terminalreporter.write_line(f"{report.nodeid}: {value}")


# The modules that take longest, longest first (measured with --durations, docs/speed.md). `make test`
# runs pytest-xdist with --dist loadfile --no-loadscope-reorder, so workers take whole modules in this
# order: the SLURM module starts at once (it mostly waits on the executor's 40 s sacct polls, so a third
# worker keeps both cores busy meanwhile) and no long module is left to run alone at the end.
SLOW_FIRST = ("test_slurm.py", "test_resampling.py", "test_table1_layout.py", "test_workflow.py", "test_loclic.py",
              "test_complexity.py", "test_docs.py", "test_workflow_config.py", "test_plugin_workflow.py",
              "test_report.py", "test_train.py", "test_perceptual.py", "test_learned_codec.py", "test_treenet.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
