"""The learned architectures of Tables II and III: how to build each one, which of its submodules are the
paper's modules (g_a, g_s, h_a, h_s, h_ep, context, lrp, rr), and the numbers the papers print for them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # torch is imported where it is used, so `rdbench complexity --help` stays fast
    from torch import nn

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

