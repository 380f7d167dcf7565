"""The host record of every cell's manifest: CPU model and vector extensions (why last digits can differ)."""

from __future__ import annotations

import platform

from rdbench.provenance import SIMD_FLAGS, cpu_info, host, manifest


def test_cpu_info_reads_the_model_and_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU 9000\nflags\t\t: fpu sse4_2 avx2 fma avx512f\n\n"
                       "processor\t: 1\nmodel name\t: Some CPU 9000\nflags\t\t: fpu\n")
    model, flags = cpu_info(str(cpuinfo))
    assert model == "Some CPU 9000" and {"avx2", "fma", "avx512f"} <= flags and "avx" not in flags
    missing = cpu_info(str(tmp_path / "absent"))
    assert missing[1] == frozenset() and missing[0] == (platform.processor() or platform.machine() or "unknown CPU")


def test_the_manifest_names_the_cpu_and_its_vector_extensions():
    record = manifest({}, {}, "plugin", {})["host"]
    model, flags = cpu_info()
    assert record["cpu"] == model and record["cpu"]
    assert record["simd"] == [f for f in SIMD_FLAGS if f in flags]
