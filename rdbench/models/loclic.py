"""LoC-LIC: hierarchical feature transforms in front of MLIC++'s multi-reference entropy model.

Paper: A. Ameen, T. Richter, A. Kaup, "Low Complexity Learned Image Coding Using Hierarchical Feature
Transforms" (LoC-LIC; FAU Erlangen-Nürnberg, Fraunhofer IIS). The text gives no layer list; this is the
reading in ``loclic-spec.md`` (shared with the project), which follows the authors' code
(Ayman-Ameen/loc-lic, Apache-2.0, read, not copied) where the paper is silent and reproduces the
paper's complexity (270.80 kMAC/px by torchinfo against its "approximately 270")::

    x ─ g_a ─ y (M x H/16) ─┬─ h_a ─ z (N_h x H/64) ─ EB ─ ẑ ─ h_s ─ hyper (2M x H/16) ─┐
                            └──────────── MultiReferenceLatentCodec (mlicpp.py) ◄──────┘
                                                        │ ŷ
                                                 x̂ ─ g_s

* g_a: channels double while the resolution halves (the paper's Eq. 3): ResidualBlockWithStride and
  ResidualBlock pairs at N[0], N[1], N[2] (H/2, H/4, H/8), then a stride-2 3x3 conv to M at H/16.
* g_s ("current"): ResidualBlock(M), then ResidualBlockUpsample / ResidualBlock (with a 1x1 skip where
  the width changes) back up, and a sub-pixel 3x3 conv to RGB; "old" is the code's earlier layout.
* h_a / h_s: MLIC++'s hyperprior with width N_h (``hyper_channels``, default N[-1]); h_s gives 2M
  channels, whose second half (the "hyper means") the LRPs read.
* The entropy model and its papers: :mod:`rdbench.models.mlicpp`.

Constructor options name every place where the paper is silent or differs from the code (the totals
are torchinfo kMAC/px at 256 x 256, from the spec, reproduced by ``tests/test_loclic.py``):

    channels        (32, 64, 128) code, 270.80 (default)  |  "eq3": Eq. 3 literally, (40, 80, 160), 302.10
    gs_variant      "current" (default)                    |  "old": SynthesisTransformOld, 258.87
    lrp             "mlicpp-2024-06" (default)             |  "mlicpp-2024-03": MLIC++'s earlier LRP, 410.97
    hyper_channels  None = N[-1] = 128 (default)           |  192 (MLIC++), 272.70
    act             "gelu" (MLIC++, default)               |  "leaky_relu" (CompressAI's blocks); same counts
    quantization    "mixed" (default) | "noise" | "ste"    (training only; see MultiReferenceLatentCodec)
    padding         "zero-bottom-right" (code, default)    |  "replicate-centred" (rdbench's other codecs)

The loss (lambda * 255^2 * MSE + bpp, the code's) and the lambdas are training settings: see
``rdbench.codecs.loclic``. Inputs are B x 3 x H x W in [0, 1] with H and W multiples of 64 (the
checkerboard and the linear attentions need an even latent at H/16, z sits at H/64): the codec pads.
"""

from __future__ import annotations

from typing import Sequence

from compressai.entropy_models import EntropyBottleneck
from compressai.layers import ResidualBlock, ResidualBlockUpsample, ResidualBlockWithStride, conv3x3, subpel_conv3x3
from compressai.models.base import CompressionModel
from compressai.ops import quantize_ste
from torch import Tensor, nn

from rdbench.models.mlicpp import LRP_VARIANTS, QUANTIZATIONS, MultiReferenceLatentCodec

CHANNELS = {"code": (32, 64, 128), "eq3": (40, 80, 160)}
GS_VARIANTS = ("current", "old")
ACTIVATIONS = {"gelu": nn.GELU, "leaky_relu": lambda: nn.LeakyReLU(inplace=True)}
PADDINGS = ("zero-bottom-right", "replicate-centred")


def _with_activation(block: nn.Module, act: str) -> nn.Module:
    """A CompressAI residual block with its (hard-coded LeakyReLU) activation replaced by `act`."""
    if act != "leaky_relu" and hasattr(block, "leaky_relu"):
        block.leaky_relu = ACTIVATIONS[act]()
    return block


def analysis(N: Sequence[int], M: int, act: str) -> nn.Sequential:
    """g_a: 3 x H x W -> M x H/16 x W/16."""
    layers: list[nn.Module] = []
    for cin, cout in zip((3, *N[:-1]), N):
        layers += [ResidualBlockWithStride(cin, cout, stride=2), ResidualBlock(cout, cout)]
    layers.append(conv3x3(N[-1], M, stride=2))
    return nn.Sequential(*(_with_activation(b, act) for b in layers))


def synthesis(N: Sequence[int], M: int, act: str, variant: str) -> nn.Sequential:
    """g_s: M x H/16 x W/16 -> 3 x H x W. "current": RB(M), then per width n of N reversed
    RBU(previous, n) and RB(n, next n); "old": RB(M, N[-1]), then per n RBU(n, n) and RB(n, next n)."""
    widths = list(N[::-1])  # 128, 64, 32
    layers: list[nn.Module]
    if variant == "current":
        layers, prev = [ResidualBlock(M, M)], M
        for j, n in enumerate(widths):
            layers += [ResidualBlockUpsample(prev, n, 2), ResidualBlock(n, widths[min(j + 1, len(widths) - 1)])]
            prev = widths[min(j + 1, len(widths) - 1)]
    elif variant == "old":
        layers = [ResidualBlock(M, widths[0])]
        for j, n in enumerate(widths):
            layers += [ResidualBlockUpsample(n, n, 2), ResidualBlock(n, widths[min(j + 1, len(widths) - 1)])]
    else:
        raise ValueError(f"unknown gs_variant {variant!r}; choose one of {', '.join(GS_VARIANTS)}")
    layers.append(subpel_conv3x3(N[0], 3, 2))
    return nn.Sequential(*(_with_activation(b, act) for b in layers))


def hyper_analysis(M: int, Nh: int) -> nn.Sequential:
    """h_a: M x h x w -> Nh x h/4 x w/4 (five 3x3 convolutions, two of stride 2, GELU between)."""
    convs = [conv3x3(M, Nh), conv3x3(Nh, Nh), conv3x3(Nh, Nh, stride=2), conv3x3(Nh, Nh), conv3x3(Nh, Nh, stride=2)]
    return _interleave(convs)


def hyper_synthesis(M: int, Nh: int) -> nn.Sequential:
    """h_s: Nh x h/4 x w/4 -> 2M x h x w (3x3 and sub-pixel convolutions, widths M, M, 3M/2, 3M/2, 2M)."""
    wide = M * 3 // 2
    convs = [conv3x3(Nh, M), subpel_conv3x3(M, M, 2), conv3x3(M, wide), subpel_conv3x3(wide, wide, 2),
             conv3x3(wide, 2 * M)]
    return _interleave(convs)


def _interleave(layers: list[nn.Module]) -> nn.Sequential:
    out: list[nn.Module] = []
    for layer in layers[:-1]:
        out += [layer, nn.GELU()]
    return nn.Sequential(*out, layers[-1])


class LoCLIC(CompressionModel):
    """LoC-LIC (see the module docstring for the options and their complexity).

    ``compress`` returns {"strings": [[y stream], [z stream]] (one bytes per batch item each),
    "shape": (h_z, w_z), "y_hat"}; ``decompress(strings, shape)`` returns {"x_hat", "y_hat"}.
    """

    pad_multiple = 64

    def __init__(self, channels: str | Sequence[int] = (32, 64, 128), M: int = 320, slices: int = 10,
                 hyper_channels: int | None = None, gs_variant: str = "current", lrp: str = LRP_VARIANTS[0],
                 act: str = "gelu", quantization: str = "mixed", padding: str = PADDINGS[0]):
        N = CHANNELS.get(channels, channels) if isinstance(channels, str) else tuple(int(n) for n in channels)
        if isinstance(N, str) or len(N) != 3:
            raise ValueError(f"LoCLIC: channels {channels!r} must be three widths or one of {', '.join(CHANNELS)}")
        for name, value, allowed in (("act", act, tuple(ACTIVATIONS)), ("gs_variant", gs_variant, GS_VARIANTS),
                                     ("lrp", lrp, LRP_VARIANTS), ("quantization", quantization, QUANTIZATIONS),
                                     ("padding", padding, PADDINGS)):
            if value not in allowed:
                raise ValueError(f"LoCLIC: unknown {name} {value!r}; choose one of {', '.join(allowed)}")
        Nh = int(hyper_channels or N[-1])
        super().__init__()
        self.entropy_bottleneck = EntropyBottleneck(Nh)
        self._config = {"channels": list(channels) if not isinstance(channels, str) else channels, "M": M,
                        "slices": slices, "hyper_channels": hyper_channels, "gs_variant": gs_variant, "lrp": lrp,
                        "act": act, "quantization": quantization, "padding": padding}
        self.N, self.M, self.quantization, self.padding = N, M, quantization, padding
        self.g_a = analysis(N, M, act)
        self.g_s = synthesis(N, M, act, gs_variant)
        self.h_a = hyper_analysis(M, Nh)
        self.h_s = hyper_synthesis(M, Nh)
        self.latent_codec = MultiReferenceLatentCodec(M, slices, lrp, quantization)

    def config(self) -> dict:
        """The constructor keywords of this instance (``LoCLIC(**model.config())`` rebuilds it)."""
        return dict(self._config)

    # ------------------------------------------------------------------------------ CompressAI API

    def forward(self, x: Tensor) -> dict:
        """{"x_hat", "likelihoods": {"y", "z"}, "y_hat"}. In eval mode ŷ is what ``compress`` codes."""
        self._check_input(x)
        y = self.g_a(x)
        z = self.h_a(y)
        z_noisy, z_likelihoods = self.entropy_bottleneck(z)
        if self.training and self.quantization == "noise":
            z_hat = z_noisy
        else:
            medians = self.entropy_bottleneck._get_medians()
            z_hat = quantize_ste(z - medians) + medians
        out = self.latent_codec(y, self.h_s(z_hat))
        return {"x_hat": self.g_s(out["y_hat"]), "y_hat": out["y_hat"],
                "likelihoods": {"y": out["likelihoods"]["y"], "z": z_likelihoods}}

    def compress(self, x: Tensor) -> dict:
        self._check_coding("compress")
        self._check_input(x)
        y = self.g_a(x)
        z = self.h_a(y)
        z_strings = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_strings, z.shape[-2:])
        out = self.latent_codec.compress(y, self.h_s(z_hat))
        return {"strings": [out["strings"][0], z_strings], "shape": tuple(z.shape[-2:]), "y_hat": out["y_hat"]}

    def decompress(self, strings: Sequence[Sequence[bytes]], shape: Sequence[int]) -> dict:
        self._check_coding("decompress")
        if len(strings) != 2:
            raise ValueError(f"LoCLIC.decompress wants 2 stream lists (y, z), got {len(strings)}")
        z_hat = self.entropy_bottleneck.decompress(list(strings[1]), tuple(int(s) for s in shape))
        y_hat = self.latent_codec.decompress([list(strings[0])], self.h_s(z_hat))["y_hat"]
        return {"x_hat": self.g_s(y_hat).clamp_(0, 1), "y_hat": y_hat}

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"LoCLIC wants B x 3 x H x W, got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.pad_multiple or w % self.pad_multiple:
            raise ValueError(f"LoCLIC input {h}x{w} is not a multiple of {self.pad_multiple}; pad it first")

    def _check_coding(self, what: str) -> None:
        if self.training:
            raise RuntimeError(f"LoCLIC.{what} runs in eval mode only: call model.eval() first")
