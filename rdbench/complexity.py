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
import csv
import importlib
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # torch is imported where it is used, so `rdbench complexity --help` stays fast
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
PAPER_SOURCE = ("numbers printed in the TreeNet paper (arXiv 2512.16743) as quoted in treenet-spec.md, and LoC-LIC's "
                "in the LoC-LIC paper (Ameen, Richter, Kaup) as quoted in loclic-spec.md; not measured here; empty "
                "where no number is sourced or the counted model differs from the paper's")
PAPER_TABLE2_NOTE = ("TreeNet's paper totals are its Table III rows, FactorizedPrior's its Table II row. The LoC-LIC "
                     "paper states only forward totals: LoC-LIC \"approximately 270\", against MLIC++ 1256 (its April "
                     "2024 code; 1126.79 at MLIC++'s current head by loclic-spec.md's count) and Cheng2020-anchor "
                     "(N=192, not the N=128 row here) 933, which this counter gives as 933.06.")
PAPER_TABLE3_NOTE = ("The paper's h_ep and context kMAC look swapped, its h_ep params look like one instance "
                     "rather than four, and its decoder total looks like a typo for 51.98.")


@dataclass(frozen=True)
class Architecture:
    """A learned codec to count: its class, default options and which submodules are the paper's modules."""

    name: str
    target: str  # "module:Class"
    defaults: dict[str, object]
    parts: Callable[[nn.Module], dict[str, list[nn.Module]]]
    paper: dict[str, float] = field(default_factory=dict)  # {"encoder", "decoder", "forward"} kMAC/px, defaults only
    probe: Callable[[nn.Module, object], None] | None = None  # calls every counted module (default: model(x))
    on_request: bool = False  # in Table II (and timed) only when named: the trit-plane models hold 400+ M params
    label: str = ""  # the name tables show, when it is not ``name`` ("ATC (rdbench reading)")
    note: str = ""  # a table note when this architecture is counted (e.g. a spec's numbers, never a paper's)

    def options(self, overrides: dict | None = None) -> dict[str, object]:
        return {**self.defaults, **(overrides or {})}

    def build(self, overrides: dict | None = None) -> nn.Module:
        module, cls = self.target.split(":")
        return getattr(importlib.import_module(module), cls)(**self.options(overrides))

    def config(self, overrides: dict | None = None) -> str:
        """The constructor call shown in tables, e.g. "FactorizedPrior(N=128, M=192)"."""
        args = ", ".join(f"{k}={v}" for k, v in self.options(overrides).items() if v is not None)
        return f"{self.target.split(':')[1]}({args})"


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


# ------------------------------------------------------------------------------ architectures


def _compressai_parts(model: nn.Module) -> dict[str, list[nn.Module]]:
    names = {"g_a": "g_a", "g_s": "g_s", "h_a": "h_a", "h_s": "h_s", "context": "context_prediction",
             "h_ep": "entropy_parameters"}
    return {part: [getattr(model, attr)] for part, attr in names.items() if hasattr(model, attr)}


def _treenet_parts(model: nn.Module) -> dict[str, list[nn.Module]]:
    codecs = list(model.latent_codecs)
    return {"g_a": [model.g_a], "g_s": [model.g_s], "h_a": [c.hyper.h_a for c in codecs],
            "h_s": [c.hyper.h_s for c in codecs], "h_ep": [c.y.entropy_parameters for c in codecs],
            "context": [c.y.context_prediction for c in codecs]}


def _loclic_parts(model: nn.Module) -> dict[str, list[nn.Module]]:
    lc = model.latent_codec
    return {"g_a": [model.g_a], "g_s": [model.g_s], "h_a": [model.h_a], "h_s": [model.h_s],
            "h_ep": [*lc.ep_anchor, *lc.ep_nonanchor],
            "context": [*lc.local_context, *lc.global_intra, *lc.global_inter, *lc.channel_context],
            "lrp": [*lc.lrp_anchor, *lc.lrp_nonanchor]}


def _tritnet(name: str):
    return getattr(importlib.import_module("rdbench.models.tritnet"), name)


TRITPLANE_NOTE = (
    "dpict, ctc and atc (\"ATC (rdbench reading)\"): no complexity is published for any of them (CTC says only "
    "that its time over DPICT is \"marginal\"). atc-spec.md's own torchinfo counts at 256x256, which these rows "
    "reproduce: encoder / worst-case decoder kMAC/px and params: dpict 421.55 / 612.20, 27,214,380; ctc 2840.4 / "
    "3031.0, 399,003,372; atc 3124.0 / 3314.6, 444,391,020. rr counts its six calls per image (CRR1, CRR2, CRR3 x4); "
    "the worst-case decoder is the full stream, without dr (a truncation in plane L-2 gives 5 rr + dr, ~2709 for ctc).")


# CompressAI zoo configurations of the low-rate qualities (1-5; mbt2018-mean 1-4; cheng2020-anchor 1-3),
# the range of TreeNet's 0.1-0.4 bpp.
ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("treenet", "rdbench.models.treenet:TreeNet",
                 {"N": 32, "M": 32, "fusion": "iaff", "r": 4, "gs_layout": "lattice432"}, _treenet_parts,
                 {"encoder": 9.32, "decoder": 51.08}),
    Architecture("loclic", "rdbench.models.loclic:LoCLIC",
                 {"channels": "code", "hyper_channels": None, "gs_variant": "current", "lrp": "mlicpp-2024-06"},
                 _loclic_parts, {"forward": 270.0}),
    *(Architecture(preset, "rdbench.models.tritnet:TritPlaneNet", {"preset": preset, "N": 192},
                   lambda m: _tritnet("complexity_parts")(m), probe=lambda m, x: _tritnet("complexity_probe")(m, x),
                   on_request=True, label="ATC (rdbench reading)" if preset == "atc" else "", note=TRITPLANE_NOTE)
      for preset in ("dpict", "ctc", "atc")),
    Architecture("bmshj2018-factorized", "compressai.models:FactorizedPrior", {"N": 128, "M": 192},
                 _compressai_parts, {"encoder": 36.84, "decoder": 147.25}),
    Architecture("bmshj2018-hyperprior", "compressai.models:ScaleHyperprior", {"N": 128, "M": 192},
                 _compressai_parts),
    Architecture("mbt2018-mean", "compressai.models:MeanScaleHyperprior", {"N": 128, "M": 192}, _compressai_parts),
    Architecture("cheng2020-anchor", "compressai.models:Cheng2020Anchor", {"N": 128}, _compressai_parts),
)}

# TreeNet paper, Table III (kMAC/px, M params) for the default TreeNet; see PAPER_SOURCE.
PAPER_TABLE3 = {"g_a": (6.86, 0.32), "g_s": (49.89, 0.86), "h_a": (0.37, 0.19), "h_s": (0.85, 0.68),
                "h_ep": (0.80, 0.03), "context": (0.44, 0.21), "encoder": (9.32, None), "decoder": (51.08, None)}


# The LoC-LIC paper states one number for its model (Sec. 4: "approximately 270 kMAC/Pixel").
PAPER_TABLE3_LOCLIC = {"forward": (270.0, None)}
PAPER_TABLE3_LOCLIC_NOTE = (
    "The LoC-LIC paper gives no per-module numbers and no parameter count, only the forward total. Its modules "
    "here: context = LocalContext (10) + LinearGlobalIntraContext (9) + LinearGlobalInterContext (9) + "
    "ChannelContext (9); h_ep = the anchor and non-anchor entropy parameters (10 each); lrp = the anchor and "
    "non-anchor latent residual predictions (10 each), all of MLIC++. torchinfo counts LocalContext's per-token "
    "Linear layers once per image, not per position (about 0.9 kMAC/px more in reality).")


def get_architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


# ----------------------------------------------------------------------------------- counting


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


# ------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """A table column: CSV header ``key``, display ``label``; numbers shown with ``digits`` after ``scale``."""

    key: str
    label: str
    digits: int | None = None  # None: text
    scale: float = 1.0


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[dict]
    notes: list[str]


def _kmac_columns(prefix: str, label: str, counters: tuple[str, ...]) -> list[Column]:
    return [Column(f"{prefix}kmac_px_{c}", f"{label}kMAC/px ({c})", 2) for c in counters]


def _notes(results: list[Complexity], counters: tuple[str, ...], paper_note: str) -> list[str]:
    r = results[0]
    notes = [f"Measured here at {r.width}x{r.height} (kMAC/px = MACs / (H*W) / 1000), one forward pass, batch 1; "
             f"counters: {', '.join(counters)}. {COUNTER_NOTE} ptflops and fvcore also count transposed "
             "convolutions at their input positions.",
             f"Paper columns: {PAPER_SOURCE}. {paper_note}"]
    notes += list(dict.fromkeys(r.architecture.note for r in results if r.architecture.note))
    notes += [f"Count failed ({res.architecture.name} {key}): {msg}" for res in results for key, msg in res.errors.items()]
    return notes


def table2(results: list[Complexity], counters: tuple[str, ...] = COUNTERS) -> Table:
    """Paper Table II: encoder and decoder kMAC/px of every architecture counted."""
    columns = [Column("architecture", "architecture"), Column("configuration", "configuration"),
               Column("params", "params (M)", 3, 1e-6)]
    for c in counters:
        columns += [Column(f"encoder_kmac_px_{c}", f"encoder kMAC/px ({c})", 2),
                    Column(f"decoder_kmac_px_{c}", f"decoder kMAC/px ({c})", 2)]
    columns += [Column(f"forward_kmac_px_{counters[0]}", f"forward kMAC/px ({counters[0]})", 2),
                Column("paper_encoder_kmac_px", "paper encoder kMAC/px", 2),
                Column("paper_decoder_kmac_px", "paper decoder kMAC/px", 2),
                Column("paper_forward_kmac_px", "paper forward kMAC/px", 2)]
    rows = []
    for r in results:
        row = {"architecture": r.architecture.label or r.architecture.name, "configuration": r.config,
               "params": r.total_params}
        for c in counters:
            row[f"encoder_kmac_px_{c}"], row[f"decoder_kmac_px_{c}"] = r.encoder(c), r.decoder(c)
        row[f"forward_kmac_px_{counters[0]}"] = r.forward(counters[0])
        paper = r.architecture.paper if r.is_default else {}
        for part in ("encoder", "decoder", "forward"):
            row[f"paper_{part}_kmac_px"] = paper.get(part)
        rows.append(row)
    return Table("Table II: encoder and decoder complexity of learned codecs", columns, rows,
                 _notes(results, counters, PAPER_TABLE2_NOTE))


def table3(result: Complexity, counters: tuple[str, ...] = COUNTERS) -> Table:
    """Paper Table III: kMAC/px and parameters of each module of one architecture (TreeNet in the paper)."""
    columns = [Column("module", "module"), Column("instances", "instances", 0),
               *_kmac_columns("", "", counters[:1]), Column("params", "params (M)", 3, 1e-6),
               *_kmac_columns("", "", counters[1:]),
               Column("paper_kmac_px", "paper kMAC/px", 2), Column("paper_params", "paper params (M)", 2)]
    paper = {"treenet": PAPER_TABLE3, "loclic": PAPER_TABLE3_LOCLIC}.get(result.architecture.name, {}) \
        if result.is_default else {}
    rows = []
    for name, m in result.modules.items():
        row = {"module": name, "instances": m.instances, "params": m.params}
        row.update({f"kmac_px_{c}": result.kmac_per_px(name, c) for c in counters})
        rows.append(row)
    rows.append({"module": "entropy models", "instances": None,
                 "params": result.total_params - sum(m.params for m in result.modules.values())})
    for name, parts in (("encoder", ENCODER_PARTS), ("decoder", DECODER_PARTS), ("forward", tuple(result.modules))):
        rows.append({"module": name, **{f"kmac_px_{c}": result.kmac_per_px(parts, c) for c in counters}})
    rows.append({"module": "total", "params": result.total_params})
    for row in rows:
        kmac, params = paper.get(row["module"], (None, None))
        row["paper_kmac_px"], row["paper_params"] = kmac, params
    title = f"Table III: complexity per module of {result.config}"
    paper_note, per = {"loclic": (PAPER_TABLE3_LOCLIC_NOTE, "slice")}.get(result.architecture.name,
                                                                        (PAPER_TABLE3_NOTE, "latent"))
    notes = _notes([result], counters, paper_note) + [
        f"Modules with several instances (one per {per}) are summed over them. 'entropy models' are the "
        "EntropyBottleneck / GaussianConditional parameters (tables at coding time, no MACs counted)."]
    return Table(title, columns, rows, notes)


def _cell(col: Column, value, text: bool) -> str:
    if value is None or value == "":
        return ""
    if col.digits is None:
        return str(value)
    if not text:  # CSV keeps the raw value (params as an integer count), floats to 6 decimals
        return str(value) if isinstance(value, int) else f"{value:.6f}"
    return f"{value * col.scale:.{col.digits}f}"


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell(c, row.get(c.key), text=False) for c in table.columns])
    return buf.getvalue()


def to_markdown(table: Table) -> str:
    lines = [f"**{table.title}**", "", "| " + " | ".join(c.label for c in table.columns) + " |",
             "|" + "|".join("---" if c.digits is None else "---:" for c in table.columns) + "|"]
    for row in table.rows:
        lines.append("| " + " | ".join(_cell(c, row.get(c.key), text=True) for c in table.columns) + " |")
    return "\n".join(lines + [""] + [f"{note}\n" for note in table.notes])


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(a, b)
    return text


def to_latex(table: Table) -> str:
    """A booktabs ``table`` environment; the notes become the caption's second sentence onwards."""
    spec = "".join("l" if c.digits is None else "r" for c in table.columns)
    body = [" & ".join(_tex(c.label) for c in table.columns) + r" \\", r"\midrule"]
    for row in table.rows:
        body.append(" & ".join(_tex(_cell(c, row.get(c.key), text=True)) for c in table.columns) + r" \\")
    caption = _tex(table.title + ". " + " ".join(table.notes))
    return "\n".join([r"% written by rdbench.complexity; needs \usepackage{booktabs}", r"\begin{table}[t]",
                      r"\centering", r"\scriptsize", rf"\caption{{{caption}}}", rf"\begin{{tabular}}{{{spec}}}",
                      r"\toprule", *body, r"\bottomrule", r"\end{tabular}", r"\end{table}", ""])


def write_table(table: Table, stem: str | Path) -> list[Path]:
    """Write ``stem``.csv, .md and .tex atomically; returns the three paths."""
    from rdbench.atomic import write_text as atomic_write_text

    stem = Path(stem)
    paths = []
    for suffix, render in ((".csv", to_csv), (".md", to_markdown), (".tex", to_latex)):
        path = stem.with_suffix(suffix)
        atomic_write_text(path, render(table))
        paths.append(path)
    return paths
