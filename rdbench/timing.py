"""Measured CPU coding time of learned codecs: the time columns of Table II beside its kMAC/px.

MACs are what the paper compares; seconds are what a user waits, and the two disagree: a counter's
convention (torchinfo counts a transposed convolution at its *output* positions, stride^2 = 4 times
the multiply-adds it performs, which makes the CompressAI decoders look 4x heavier than they run), and
the speed of a convolution (narrow 32-channel ones run at a fraction of the GMAC/s of 128/192-channel
ones). So Table II shows both.

Method: every architecture is built with its default options and random weights (seed 0): the
transforms cost what they cost with trained weights, but the entropy coder codes the near-zero
latents of an untrained model, so the entropy-coding share is smaller than with trained weights.
One 1 x 3 x H x W image (uniform noise, seed 0) is coded with ``model.compress`` and
``model.decompress`` under ``torch.no_grad`` on the CPU at each requested intra-op thread count:
one warm-up, then ``repeats`` rounds, the architectures interleaved within each round (so a machine
whose load changes during the run slows all of them alike), timed with perf_counter. Reported:
the median in milliseconds per megapixel (ms / (H * W / 1e6)).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Sequence

import torch

from rdbench.provenance import cpu_info

TIME_NOTE = ("random-init weights (seed 0) on a uniform-noise image: the transforms' time is representative, "
             "the entropy coder codes near-zero latents, so its share is smaller than with trained weights")


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else platform.processor()), e.g. "AMD EPYC"."""
    return cpu_info()[0]


def machine_threads() -> int:
    """Logical CPUs this process may run on (its affinity; os.cpu_count() where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Host:
    """What a timing depends on: CPU model, logical CPUs, torch version, and the load while it ran."""

    cpu: str
    logical_cpus: int
    torch: str
    load: float | None  # 1-minute load average at the end of the measurement (None: not on this OS)

    @classmethod
    def now(cls) -> "Host":
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        return cls(cpu_model(), machine_threads(), torch.__version__, load)

    def describe(self) -> str:
        load = "" if self.load is None else f", load average {self.load:.1f} at the end"
        return f"{self.cpu} ({self.logical_cpus} logical CPUs), torch {self.torch}{load}"


def host_description() -> str:
    """CPU model, logical CPUs, torch version and the 1-minute load average (timings depend on all four)."""
    return Host.now().describe()


@dataclass
class CodingTime:
    """Encode and decode seconds of one model at one thread count, one entry per timed round: wall time
    (perf_counter, what Table II reports) and the process's CPU time (process_time, all threads), which at
    one thread holds better than wall time when other work shares the cores."""

    pixels: int
    threads: int
    encode: list[float] = field(default_factory=list)
    decode: list[float] = field(default_factory=list)
    encode_cpu: list[float] = field(default_factory=list)
    decode_cpu: list[float] = field(default_factory=list)

    def median(self, which: str) -> float:
        """Median seconds of "encode" or "decode" (wall), "encode_cpu" or "decode_cpu" (process CPU time)."""
        return statistics.median(getattr(self, which))

    def ms_per_mpx(self, which: str) -> float:
        return self.median(which) * 1e3 / (self.pixels / 1e6)


def time_coding(models: dict[str, torch.nn.Module], x: torch.Tensor, repeats: int,
                threads: int) -> dict[str, CodingTime]:
    """compress + decompress of ``x`` by every model, interleaved, ``repeats`` timed rounds after a warm-up."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    pixels = x.shape[-2] * x.shape[-1]
    times = {name: CodingTime(pixels, threads) for name in models}
    try:
        with torch.no_grad():
            for model in models.values():
                enc = model.compress(x)
                model.decompress(enc["strings"], enc["shape"])
            for _ in range(repeats):
                for name, model in models.items():
                    c0, t0 = time.process_time(), time.perf_counter()
                    enc = model.compress(x)
                    c1, t1 = time.process_time(), time.perf_counter()
                    model.decompress(enc["strings"], enc["shape"])
                    c2, t2 = time.process_time(), time.perf_counter()
                    t = times[name]
                    t.encode.append(t1 - t0)
                    t.decode.append(t2 - t1)
                    t.encode_cpu.append(c1 - c0)
                    t.decode_cpu.append(c2 - c1)
    finally:
        torch.set_num_threads(before)
    return times


def build_for_coding(arch, seed: int = 0) -> torch.nn.Module:
    """A rdbench.complexity.Architecture built with random weights (``seed``), eval mode, CDFs updated."""
    torch.manual_seed(seed)
    model = arch.build().eval()
    model.update(force=True)
    return model


def time_architectures(archs: Sequence, height: int, width: int, repeats: int,
                       thread_counts: Sequence[int]) -> dict[str, dict[int, CodingTime]]:
    """{architecture name: {threads: CodingTime}} for rdbench.complexity.Architecture objects."""
    models = {a.name: build_for_coding(a) for a in archs}
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    out: dict[str, dict[int, CodingTime]] = {name: {} for name in models}
    for threads in dict.fromkeys(thread_counts):
        for name, t in time_coding(models, x, repeats, threads).items():
            out[name][threads] = t
    return out


def default_thread_counts() -> tuple[int, ...]:
    """1 and the machine's threads (the logical CPUs this process may use), once each."""
    return tuple(dict.fromkeys((1, machine_threads())))


@dataclass
class Timings:
    """Coding times of several architectures measured in one run, and the host they were measured on."""

    times: dict[str, dict[int, CodingTime]]  # architecture -> threads -> CodingTime
    repeats: int
    host: Host

    def thread_counts(self) -> tuple[int, ...]:
        return tuple(sorted({t for per in self.times.values() for t in per}))

    def note(self, counter: str) -> str:
        """The table note: method, host, and why kMAC/px and time disagree."""
        pixels = next(t.pixels for per in self.times.values() for t in per.values())
        counts = ", ".join(f"{t} thread" + ("s" if t != 1 else "") for t in self.thread_counts())
        return (f"Time: CPU milliseconds per megapixel of model.compress (encode) and model.decompress (decode), "
                f"median of {self.repeats} interleaved runs after a warm-up, one {pixels / 1e6:.3f} MP image, "
                f"batch 1, at {counts}; {TIME_NOTE}. Host: {self.host.describe()}. GMAC/s = {counter}'s MACs per "
                "second at the first thread count: equal in every row if MACs predicted time. kMAC/px and time "
                "disagree where a counter's convention or a layer's speed does: torchinfo counts transposed "
                "convolutions at their output positions (4x the multiply-adds of the CompressAI decoders' stride-2 "
                "layers; ptflops and fvcore count them at their input positions), TreeNet's 32-channel "
                "convolutions run at fewer GMAC/s than the CompressAI models' 128/192-channel ones, and "
                "autoregressive context models (cheng2020-anchor) decode position by position in Python.")


def measure(archs: Sequence, height: int, width: int, repeats: int,
            thread_counts: Sequence[int] | None = None) -> Timings:
    """Time every architecture (rdbench.complexity.Architecture) at ``height`` x ``width``: Table II's input."""
    times = time_architectures(archs, height, width, repeats, thread_counts or default_thread_counts())
    return Timings(times, repeats, Host.now())
