"""One optimisation step of one rate point, and the levers that make it fast on a GPU.

A step (identical in every mode)::

    out   = model(x)                         noise quantisation (model.train())
    terms = RateDistortionLoss(out, x)       bpp + l1*255^2*MSE + l2*(1-MS-SSIM)
    aux   = model.aux_loss()                 EntropyBottleneck quantiles only
    (terms.loss + aux).backward()            one backward pass for both
    clip_grad_norm_(main parameters, clip)   0 disables; CompressAI's example uses 1.0
    skipped if the loss or the norm is not finite (eager: nothing changes; counted in the log)
    optimizer.step(); aux_optimizer.step()   Adam on everything but the quantiles / on the quantiles

One backward pass suffices: CompressAI's ``aux_loss`` detaches the density parameters, so it only
reaches the ``quantiles``; the main loss reaches the quantiles only through the medians, and its
gradient there is accumulated with the aux gradient exactly as in CompressAI's example training
loop. One difference from that loop, by design: there the aux loss is evaluated after the main
optimiser step, here in the same step as the main loss (its detached density parameters are one
update older), which saves a second backward pass and keeps the step one graph.

Modes:
* eager (default);
* ``compile``: ``torch.compile`` of the model's pure-tensor transforms ``g_a`` and ``g_s`` in place
  (state-dict keys unchanged). The latent codecs are left eager: CompressAI's entropy models break
  graphs, and ``reduce-overhead`` mode broke on them;
* ``cuda_graph``: the whole step above is captured once in a CUDA graph and replayed; the batch is
  copied into a static input buffer first. What would break capture, and what is done about it:
  host syncs (``.item()``, printing a loss): none in the step; the statistics stay on the device
  and are read only at log time. CompressAI 1.2.8's ``EntropyBottleneck.forward`` builds its
  permutation with ``torch.tensor([1, 0], device=...)``, a blocking host-to-device copy that is
  illegal during capture (and a host sync in every eager step): :func:`patch_entropy_bottlenecks`
  gives each bottleneck an equivalent forward that permutes with Python ints (tested equal); the
  loss builds its MS-SSIM window on the device for the same reason.
  Adam must keep its step counter on the device: optimisers are built with ``capturable=True``.
  Gradients are freed before capture so the graph owns them; the noise of quantisation is drawn
  by ``uniform_`` from the default CUDA generator, which graph replays advance (Philox offsets).
  The first ``GRAPH_WARMUP`` steps run eagerly on the side stream (as PyTorch's whole-network
  capture recipe asks); they are real steps. If capture fails, the runner says why and stays eager.
* not ``channels_last``: measured on torch 2.14.1's CPU build, the backward of a strided 1 x 1 convolution
  with 3 input channels in channels_last (g_a's root skip) corrupts the heap (``free(): invalid next
  size``, SIGSEGV; ``Conv2d(3, 32, 1, stride=2)`` alone reproduces it); the training step stays NCHW.
  (Inductor lays CPU convolutions out channels_last too, which may be why ``--compile`` aborts.)
* ``amp="bf16"``: autocast of ``g_a`` and ``g_s`` only; entropy models and the loss stay float32
  (entropy models are unstable in low precision). fp16 is not offered (it would need loss scaling).
"""

from __future__ import annotations

import math
import sys
import types
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn

from rdbench.training.loss import RateDistortionLoss

STATS = ("loss", "bpp", "mse", "ms_ssim", "aux", "skipped")  # the order of a step's statistics vector;
# "skipped" is 1 for a step whose loss or gradient norm was not finite (its other entries are then 0)
GRAPH_WARMUP = 3


@dataclass
class Member:
    """One rate point being trained: its model, loss and two optimisers."""

    point: int
    stream_index: int
    lambda1: float
    lambda2: float
    model: nn.Module
    criterion: RateDistortionLoss
    optimizer: torch.optim.Optimizer
    aux_optimizer: torch.optim.Optimizer | None
    main_params: list[nn.Parameter]
    clip: float = 0.0
    cuda_stream: object = None  # torch.cuda.Stream on CUDA, else None
    stats: Tensor | None = None  # running sum of step statistics (device), reset at each log
    skipped: int = 0  # steps of this run skipped for a non-finite loss or gradient (counted by train_step)
    notes: list[str] = field(default_factory=list)


def split_parameters(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(main, aux): aux are the EntropyBottleneck ``quantiles`` (CompressAI's naming convention)."""
    main, aux = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (aux if name.endswith(".quantiles") or name == "quantiles" else main).append(param)
    return main, aux


def make_optimizers(model: nn.Module, lr: float, aux_lr: float, device: torch.device,
                    capturable: bool = False, lr_tensor: bool = False
                    ) -> tuple[list, torch.optim.Optimizer, torch.optim.Optimizer | None]:
    """Adam for the main parameters, Adam for the quantiles (None if there are none), both fused: on the
    CPU too, where TreeNet's 690 parameter tensors take 5.7 ms per fused step against 28.6 ms for the
    per-tensor loop (1 thread, CPU time; the same update up to float rounding).

    ``lr_tensor``: the main lr is a device tensor, so a schedule can change it inside a CUDA graph."""
    main, aux = split_parameters(model)
    if not main:
        raise ValueError(f"{type(model).__name__} has no trainable parameters")
    kwargs = {"fused": True}
    if capturable:
        kwargs["capturable"] = True
    main_lr = torch.tensor(lr, dtype=torch.float32, device=device) if lr_tensor else lr
    optimizer = torch.optim.Adam(main, lr=main_lr, **kwargs)
    aux_optimizer = torch.optim.Adam(aux, lr=aux_lr, **kwargs) if aux else None
    return main, optimizer, aux_optimizer


def train_step(member: Member, x: Tensor, skip_nonfinite: bool = True) -> Tensor:
    """One step on batch x (Bx3xHxW in [0, 1]); returns the detached STATS vector (float32, device).

    ``skip_nonfinite``: a step whose loss or main gradient norm is NaN or infinite changes nothing (no
    optimiser step, Adam's moments kept, BatchNorm's running statistics put back: the buffers a forward
    pass of TreeNet or a CompressAI model updates; copying them costs ~0.7 ms a step), is counted in
    ``member.skipped`` and returns ``skipped`` = 1. One such batch used to write NaN into every weight
    through the clipped update. It reads the norm on the host, so a CUDA graph capture passes False
    (the whole window's loss then shows the NaN, and training stops).
    """
    model = member.model
    buffers = [(b, b.clone()) for b in _running_stats(model)] if skip_nonfinite else []
    out = model(x)
    terms = member.criterion(out, x)
    aux = model.aux_loss()
    if not isinstance(aux, Tensor):  # a model without EntropyBottleneck: sum() of nothing is 0
        aux = terms["loss"].new_zeros(())
    member.optimizer.zero_grad(set_to_none=True)
    if member.aux_optimizer is not None:
        member.aux_optimizer.zero_grad(set_to_none=True)
    (terms["loss"] + aux).backward()
    if member.clip > 0:
        norm = torch.nn.utils.clip_grad_norm_(member.main_params, member.clip)
    elif skip_nonfinite:
        norm = torch.nn.utils.get_total_norm([p.grad for p in member.main_params if p.grad is not None])
    if skip_nonfinite and not bool(torch.isfinite(norm + terms["loss"] + aux)):
        for buffer, kept in buffers:
            buffer.copy_(kept)
        member.skipped += 1
        member.optimizer.zero_grad(set_to_none=True)
        if member.aux_optimizer is not None:
            member.aux_optimizer.zero_grad(set_to_none=True)
        return torch.tensor([0.0] * (len(STATS) - 1) + [1.0], device=x.device)
    member.optimizer.step()
    if member.aux_optimizer is not None:
        member.aux_optimizer.step()
    return torch.stack([terms["loss"], terms["bpp"], terms["mse"], terms["ms_ssim"], aux,
                        aux.new_zeros(())]).detach().float()


def _running_stats(model: nn.Module) -> list[Tensor]:
    return [b for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            for b in (m.running_mean, m.running_var, m.num_batches_tracked) if b is not None]


# ------------------------------------------------------------------------------ model patches


def _entropy_bottleneck_forward(self, x: Tensor, training: bool | None = None):
    """EntropyBottleneck.forward computed without building tensors from host data.

    Same arithmetic as CompressAI 1.2.8: latents go to (C, 1, B*H*W), get noise (training) or are
    rounded around the medians (eval), and get per-channel factorized likelihoods.
    """
    if training is None:
        training = self.training
    perm = (1, 0, *range(2, x.ndim))  # swaps batch and channel axes: its own inverse
    values = x.permute(*perm).contiguous()
    shape = values.shape
    values = values.reshape(shape[0], 1, -1)
    outputs = self.quantize(values, "noise" if training else "dequantize", self._get_medians())
    likelihood = self._likelihood(outputs)[0]
    if self.use_likelihood_bound:
        likelihood = self.likelihood_lower_bound(likelihood)
    outputs = outputs.reshape(shape).permute(*perm).contiguous()
    likelihood = likelihood.reshape(shape).permute(*perm).contiguous()
    return outputs, likelihood


def patch_entropy_bottlenecks(model: nn.Module) -> int:
    """Give every EntropyBottleneck the capture-safe forward above; returns how many were patched."""
    from compressai.entropy_models import EntropyBottleneck

    count = 0
    for module in model.modules():
        if isinstance(module, EntropyBottleneck):
            module.forward = types.MethodType(_entropy_bottleneck_forward, module)
            count += 1
    return count


def _transforms(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, getattr(model, name)) for name in ("g_a", "g_s") if isinstance(getattr(model, name, None), nn.Module)]


def apply_amp(model: nn.Module, device: torch.device, dtype: torch.dtype = torch.bfloat16) -> list[str]:
    """Run g_a and g_s under autocast(dtype); their floating outputs are cast back to float32."""
    names = []
    for name, module in _transforms(model):
        inner = module.forward

        def forward(*args, _inner=inner, **kwargs):
            with torch.autocast(device.type, dtype=dtype, cache_enabled=False):
                out = _inner(*args, **kwargs)
            return _to_float32(out)

        module.forward = forward
        names.append(name)
    return names


def _to_float32(out):
    if isinstance(out, Tensor):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, (list, tuple)):
        return type(out)(_to_float32(o) for o in out)
    if isinstance(out, dict):
        return {k: _to_float32(v) for k, v in out.items()}
    return out


COMPILE_ON_CPU = (
    "--compile is refused on the CPU: torch.compile's CPU backend (inductor's generated C++) aborted the whole "
    "process here (glibc 'corrupted double-linked list', exit 134) on TreeNet's training step, so it would lose "
    "the run without a Python error. Train eagerly on the CPU (drop --compile), or compile on a GPU "
    "(--device cuda).")


def check_compile(device: torch.device) -> None:
    """Raise before any work when torch.compile is asked for on a device where it is not supported."""
    if torch.device(device).type == "cpu":
        raise ValueError(COMPILE_ON_CPU)


def apply_compile(model: nn.Module) -> list[str]:
    """torch.compile g_a and g_s in place (default mode); returns the compiled names. CUDA only."""
    check_compile(next(model.parameters()).device)
    names = []
    for name, module in _transforms(model):
        module.compile()
        names.append(name)
    return names


# ------------------------------------------------------------------------------------ runners


class EagerRunner:
    """Runs :func:`train_step` as is (on the member's CUDA stream when there is one)."""

    mode = "eager"

    def __init__(self, member: Member):
        self.member = member

    def __call__(self, x: Tensor) -> Tensor:
        return train_step(self.member, x)


class GraphRunner:
    """Captures :func:`train_step` in a CUDA graph after GRAPH_WARMUP eager steps; falls back to eager.

    Call it inside ``torch.cuda.stream(member.cuda_stream)``. ``x`` must keep one shape.
    """

    def __init__(self, member: Member, warn: Callable[[str], None] = lambda m: print(m, file=sys.stderr)):
        self.member, self.warn = member, warn
        self.graph = None
        self.static_x: Tensor | None = None
        self.static_stats: Tensor | None = None
        self.eager_steps = 0
        self.failed = False

    @property
    def mode(self) -> str:
        return "cuda-graph" if self.graph is not None else ("eager (capture failed)" if self.failed else "eager")

    def __call__(self, x: Tensor) -> Tensor:
        if self.graph is not None:
            self.static_x.copy_(x)
            self.graph.replay()
            return self.static_stats.clone()
        stats = train_step(self.member, x)
        self.eager_steps += 1
        if not self.failed and self.eager_steps == GRAPH_WARMUP:
            self._capture(x)
        return stats

    def _capture(self, x: Tensor) -> None:
        member = self.member
        # capture on the member's side stream, or let PyTorch pick one (never the legacy default stream)
        where = {"stream": member.cuda_stream} if member.cuda_stream is not None else {}
        try:
            torch.cuda.synchronize()
            self.static_x = x.detach().clone()
            member.optimizer.zero_grad(set_to_none=True)
            if member.aux_optimizer is not None:
                member.aux_optimizer.zero_grad(set_to_none=True)
            graph = torch.cuda.CUDAGraph()
            # train_step inside the capture only records kernels: nothing is executed yet.
            with torch.cuda.graph(graph, **where):
                self.static_stats = train_step(member, self.static_x, skip_nonfinite=False)
            self.graph = graph
        except Exception as exc:  # any capture failure: report it and keep training eagerly
            self.failed, self.graph = True, None
            member.optimizer.zero_grad(set_to_none=True)
            if member.aux_optimizer is not None:
                member.aux_optimizer.zero_grad(set_to_none=True)
            torch.cuda.synchronize()
            msg = (f"point {member.point}: CUDA graph capture failed ({type(exc).__name__}: {exc}); "
                   "training continues eagerly (drop --cuda-graph to silence this)")
            member.notes.append(msg)
            self.warn(msg)


def make_runner(member: Member, cuda_graph: bool, warn: Callable[[str], None] | None = None):
    if not cuda_graph:
        return EagerRunner(member)
    return GraphRunner(member, **({"warn": warn} if warn else {}))


def scaled_lr(lr: float, batch: int, rule: str, reference_batch: int = 16) -> float:
    """The paper's lr is for batch 16; 'sqrt' and 'linear' scale it for another batch size."""
    rules = {"none": 1.0, "sqrt": math.sqrt(batch / reference_batch), "linear": batch / reference_batch}
    if rule not in rules:
        raise ValueError(f"unknown --lr-scale {rule!r}; choose one of {', '.join(rules)}")
    return lr * rules[rule]
