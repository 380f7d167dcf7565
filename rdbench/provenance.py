"""The provenance manifest stored with every result: what was measured, with what, where."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from datetime import datetime, timezone
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("rdbench", "numpy", "pillow", "imagecodecs", "pillow-heif", "av", "imageio-ffmpeg", "torch",
            "torchvision", "compressai", "scipy", "piq", "lpips", "DISTS_pytorch", "bjontegaard", "snakemake")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


@cache
def git_state() -> dict[str, Any]:
    """Commit and dirtiness of the rdbench checkout (empty when installed from a wheel)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return {}
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": head, "dirty": bool(dirty)}


SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile")


def host() -> dict[str, Any]:
    """Where a result was made. ``cpu`` and ``simd`` explain last-digit differences between hosts: NumPy
    and oneDNN pick their kernels by the CPU's vector extensions, so float64 metrics such as MS-SSIM can
    differ by ~1e-13 (relative) between two machines that agree on everything else."""
    model, flags = cpu_info()
    return {"hostname": platform.node(), "platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor(), "cpu": model, "simd": [f for f in SIMD_FLAGS if f in flags],
            "cpus": os.cpu_count(), "python": platform.python_version()}


@cache
def cpu_info(path: str = "/proc/cpuinfo") -> tuple[str, frozenset[str]]:
    """(model name, feature flags) of the CPU from Linux's /proc/cpuinfo; elsewhere platform.processor() and
    no flags."""
    model, flags = "", frozenset()
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip().lower() == "model name" and not model:
                    model = value.strip()
                elif key.strip().lower() == "flags" and not flags:
                    flags = frozenset(value.split())
    except OSError:
        pass
    return model or platform.processor() or platform.machine() or "unknown CPU", flags


def dataset_hash(sha256s: list[str]) -> str:
    """One hash for a set of images: sha256 over their sorted per-file sha256s."""
    return hashlib.sha256("\n".join(sorted(sha256s)).encode()).hexdigest()


def manifest(codec_description: dict, options: dict, plugin: str, dataset: dict) -> dict[str, Any]:
    return {
        "rdbench": package_versions(("rdbench",))["rdbench"],
        "git": git_state(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": host(),
        "packages": package_versions(),
        "codec": codec_description,
        "codec_plugin": plugin,
        "options": options,
        "dataset": dataset,
        "environment": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
                                                   "RDBENCH_DATA") if k in os.environ},
    }
