"""Complexity of learned codecs: kMAC per pixel and parameters per module (paper Tables II and III).

Counting convention (the TreeNet paper's, reproduced): torchinfo 1.8.0 multiply-accumulates of one forward
pass at a fixed input size (768 x 512 by default), ``kMAC/px = MACs / (H * W) / 1000``. torchinfo counts,
for every Conv / ConvTranspose layer, (weights + biases) x output positions, so biases count, GDN counts 0
(its parameters are not called weight / bias) and masked context convolutions count their full weight.
Each module is counted once, on the input it receives in ``model(x)`` (a two-pass checkerboard codec
needs its context and entropy-parameter networks on half of the positions per pass: once in total).

Two cross-check counters run beside it and disagree by design, so their columns are never mixed into
the torchinfo ones: ptflops (pytorch backend) skips CompressAI's masked convolutions (their class is not
in its table) and counts activations; fvcore counts GDN's inner convolution and drops biases.

Modules (the paper's names): g_a, g_s (transforms), h_a, h_s (hyperprior), h_ep (entropy parameters),
context (context model), lrp (latent residual prediction, LoC-LIC / MLIC++ only), rr and dr (the
trit-plane codecs' rate and distortion reduction: rr listed once per call, six per image; dr once per
module, outside the worst-case decoder, which decodes the full stream without it).
``encoder = g_a + h_a + h_s + h_ep + context + lrp``; ``decoder = g_s + h_s + h_ep + context + lrp``;
``forward`` = every module once (what the LoC-LIC paper quotes). Entropy models (EntropyBottleneck,
GaussianConditional) are tables at coding time: their parameters are listed, their MACs are not counted.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from rdbench.complexity.architectures import Architecture, get_architecture

if TYPE_CHECKING:
    from torch import nn

COUNTERS = ("torchinfo", "ptflops", "fvcore")
ENCODER_PARTS = ("g_a", "h_a", "h_s", "h_ep", "context", "lrp", "rr")
DECODER_PARTS = ("g_s", "h_s", "h_ep", "context", "lrp", "rr")
DEFAULT_SIZE = (512, 768)  # height, width: a Kodak image in landscape
COUNTER_NOTE = (
    "torchinfo is the paper's counter: (weights + biases) x output positions of every convolution, GDN 0, "
    "masked convolutions in full. ptflops (pytorch backend) and fvcore are cross-checks that disagree by "
    "design: ptflops skips masked convolutions and counts activations, fvcore counts GDN and drops biases."
)


@dataclass
class ModuleCount:
    """One module (all its instances): parameters and MACs at the counted input size, per counter."""

    name: str
    instances: int
    params: int
    macs: dict[str, int | None]  # counter -> MACs for the whole image (None: counter failed)


@dataclass
class Complexity:
    """Counts of one architecture at ``height`` x ``width``."""

    architecture: Architecture
    config: str  # constructor call of the counted model
    is_default: bool  # built with the architecture's default options (paper numbers apply)
    height: int
    width: int
    modules: dict[str, ModuleCount]
    total_params: int
    errors: dict[str, str] = field(default_factory=dict)  # "module/counter" -> error message

    def kmac_per_px(self, names: str | tuple[str, ...], counter: str = "torchinfo") -> float | None:
        """Sum of kMAC/px over the named modules present in this architecture (None if a count failed)."""
        names = (names,) if isinstance(names, str) else names
        values = [self.modules[n].macs.get(counter) for n in names if n in self.modules]
        if any(v is None for v in values):
            return None
        return sum(values) / (self.height * self.width) / 1000.0

    def encoder(self, counter: str = "torchinfo") -> float | None:
        return self.kmac_per_px(ENCODER_PARTS, counter)

    def decoder(self, counter: str = "torchinfo") -> float | None:
        return self.kmac_per_px(DECODER_PARTS, counter)

    def forward(self, counter: str = "torchinfo") -> float | None:
        """Every module once: one forward pass of the whole model."""
        return self.kmac_per_px(tuple(self.modules), counter)



def count(arch: Architecture | str, height: int = DEFAULT_SIZE[0], width: int = DEFAULT_SIZE[1],
          counters: tuple[str, ...] = COUNTERS, options: dict | None = None) -> Complexity:
    """Count ``arch`` built with its default options updated by ``options`` on a 1 x 3 x height x width
    input (random values: counts do not depend on them). Sides must be multiples of 64."""
    arch = get_architecture(arch) if isinstance(arch, str) else arch
    unknown = set(counters) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counter(s) {sorted(unknown)}; choose from {', '.join(COUNTERS)}")
    if height <= 0 or width <= 0 or height % 64 or width % 64:
        raise ValueError(f"count at {height}x{width}: both sides must be positive multiples of 64 (e.g. 512x768)")
    model = arch.build(options).eval()
    parts = arch.parts(model)
    inputs = _capture_inputs(model, [m for mods in parts.values() for m in mods], height, width, arch.probe)
    result = Complexity(arch, arch.config(options), not options or arch.options(options) == arch.defaults,
                        height, width, {}, sum(p.numel() for p in model.parameters()))
    for name, mods in parts.items():
        macs: dict[str, int | None] = {}
        for counter in counters:
            try:
                macs[counter] = sum(_COUNT[counter](m, inputs[id(m)]) for m in mods)
            except Exception as exc:  # a cross-check failing must not hide the others; it is reported
                macs[counter] = None
                result.errors[f"{name}/{counter}"] = f"{type(exc).__name__}: {exc}"
        params = sum(p.numel() for m in {id(m): m for m in mods}.values() for p in m.parameters())
        result.modules[name] = ModuleCount(name, len(mods), params, macs)
    return result


def _capture_inputs(model: nn.Module, modules: list[nn.Module], height: int, width: int,
                    probe: Callable | None = None) -> dict[int, tuple]:
    """Positional arguments each module receives on its first call in ``model(x)`` (or ``probe(model, x)``)."""
    import torch

    seen: dict[int, tuple] = {}

    def hook(module: nn.Module, args: tuple) -> None:
        seen.setdefault(id(module), tuple(_clone(a) for a in args))

    handles = [m.register_forward_pre_hook(hook) for m in modules]
    try:
        x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            probe(model, x) if probe else model(x)
    finally:
        for h in handles:
            h.remove()
    missing = [type(m).__name__ for m in modules if id(m) not in seen]
    if missing:
        raise RuntimeError(f"modules never called in forward: {missing}; their MACs cannot be counted")
    return seen


def _clone(a):
    import torch

    if isinstance(a, torch.Tensor):
        return a.detach().clone()
    if isinstance(a, (list, tuple)):
        return type(a)(_clone(v) for v in a)
    return a


def _torchinfo(module: nn.Module, args: tuple) -> int:
    import torchinfo

    stats = torchinfo.summary(module, input_data=list(args), verbose=0, mode="eval", device="cpu")
    return int(stats.total_mult_adds)


def _ptflops(module: nn.Module, args: tuple) -> int:
    import torch
    from ptflops import get_model_complexity_info

    class _Bound(torch.nn.Module):
        """``module(*args)`` as a module without inputs (ptflops wants to build the input itself)."""

        def __init__(self):
            super().__init__()
            self.module = module

        def forward(self):
            return self.module(*args)

    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):  # it prints warnings
        macs, _ = get_model_complexity_info(_Bound(), (1,), input_constructor=lambda _: {},
                                            as_strings=False, print_per_layer_stat=False, ost=io.StringIO(),
                                            backend="pytorch")
    if macs is None:
        raise RuntimeError("ptflops returned no count")
    return int(macs)


def _fvcore(module: nn.Module, args: tuple) -> int:
    import torch
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
        analysis = FlopCountAnalysis(module, args)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        return int(analysis.total())


_COUNT = {"torchinfo": _torchinfo, "ptflops": _ptflops, "fvcore": _fvcore}
