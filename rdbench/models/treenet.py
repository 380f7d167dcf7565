"""TreeNet: a light-weight learned image codec with a binary-tree encoder and four latents.

Paper: "TreeNet: A Light Weight Model for Low Bitrate Image Compression" (arXiv 2512.16743). The paper
publishes no code; this is the reading in ``treenet-spec.md`` (shared with the project), which reproduces
the paper's Table III complexity with torchinfo. Built from CompressAI 1.2.8 blocks::

    x ── RBWS ──┬── RBWS ──┬── RBWS ──┬── RBWS ── leaf 0 ──┐
    (root, H/2) │   (H/4)  │   (H/8)  └── RBWS ── leaf 1 ──┴─ fuse ─ y1 ─ EB1 ─ ŷ1 ─┐
                │          └── RBWS ── ... leaves 2, 3 ────── fuse ─ y2 ─ EB2 ─ ŷ2 ─┤
                └── RBWS ── ... leaves 4..7 (H/16) ───────── fuse ─ y3, y4 ─ ... ───┴─ g_s ─ x̂

* g_a: perfect binary tree of height 3 below the root; every node is a ResidualBlockWithStride with
  stride 2 and both children read the parent's whole output, so the 8 leaves are B x M x H/16 x W/16.
  Sibling leaves (2k, 2k+1) are fused (iAFF by default) into latent y_{k+1}, k = 0..3.
* EB_i: one entropy bottleneck per latent, exactly the latent codec of CompressAI's
  ``Cheng2020AnchorCheckerboard(N=M)``: hyperprior (h_a, EntropyBottleneck on z at H/64, h_s), a
  two-pass checkerboard context (5x5 masked conv M -> 2M) and entropy parameters (1x1 convs 4M -> 2M)
  giving the means and scales of a GaussianConditional.
* g_s: ``gs_layout="lattice432"`` (default): 4 ResidualBlockUpsample nodes (node i reads ŷ_i), 3 fusions of
  neighbours, 3 RBU, 2 fusions, 2 RBU, 1 fusion, then RBU + conv3x3 -> 3 channels at H x W.
  ``"pyramid321"``: the literal "N upsample nodes and N-1 fusion nodes, N = 3, 2, 1" reading: 3 RBU on
  concatenated neighbours (ŷ_j, ŷ_{j+1}), 2 fusions, 2 RBU, 1 fusion, 1 RBU, subpel conv -> 3 channels
  (0.738 M params, 13.54 kMAC/px; the spec quotes 14.4 for its count of this reading, whose last layer
  the paper does not fix).

Conventions (CompressAI's): x in [0, 1], B x 3 x H x W with H and W multiples of ``pad_multiple`` (64: the
checkerboard needs an even width at H/16 and z sits at H/64); the caller pads (replicate, centred: see
:func:`pad_centred`) and crops the reconstruction (:func:`crop_centred`). The fusion blocks contain
BatchNorm, so ``compress``/``decompress`` refuse to run in training mode. They run g_a and g_s through
``rdbench.models.inference`` (channels_last, BatchNorm folded, row strips: the eval forward's function
up to float rounding, faster on a CPU); ``forward`` and the latent codecs run the modules as they are. Determinism: a decoder in a
fresh process reproduces the encoder's latents and reconstruction bit-exactly at the same torch thread
count; at another thread count the latents stay exact in our tests but g_s may differ in the last float
bit (and a hyperprior scale index could in principle flip), so code with a fixed count (the codec uses 1).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from compressai.entropy_models import EntropyBottleneck
from compressai.latent_codecs import (
    CheckerboardLatentCodec,
    GaussianConditionalLatentCodec,
    HyperLatentCodec,
    HyperpriorLatentCodec,
)
from compressai.layers import (
    CheckerboardMaskedConv2d,
    ResidualBlockUpsample,
    ResidualBlockWithStride,
    conv3x3,
    subpel_conv3x3,
)
from compressai.models.base import CompressionModel
from torch import Tensor, nn

from rdbench.models import inference
from rdbench.models.aff import FUSIONS, make_fusion

GS_LAYOUTS = ("lattice432", "pyramid321")
NUM_LATENTS = 4
STREAMS_PER_LATENT = ("y_anchor", "y_non_anchor", "z")


# ------------------------------------------------------------------------------------------- g_a


class TreeAnalysis(nn.Module):
    """g_a: B x 3 x H x W -> list of 4 latents B x M x H/16 x W/16.

    ``levels[d]`` holds the 2**d nodes of depth d (d = 0 root, 3 leaves); node i of depth d reads
    node i // 2 of depth d - 1. ``fusions[k]`` merges leaves 2k and 2k+1 into y_{k+1}.
    """

    def __init__(self, N: int, M: int, fusion: str, r: int, depth: int = 3):
        super().__init__()
        widths = [2**d for d in range(depth + 1)]  # 1, 2, 4, 8 nodes
        self.levels = nn.ModuleList()
        for d, width in enumerate(widths):
            cin = 3 if d == 0 else N
            cout = M if d == depth else N
            self.levels.append(nn.ModuleList(ResidualBlockWithStride(cin, cout, stride=2) for _ in range(width)))
        self.fusions = nn.ModuleList(make_fusion(fusion, M, r) for _ in range(widths[-1] // 2))

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = [x]
        for level in self.levels:
            feats = [node(feats[i // 2]) for i, node in enumerate(level)]
        return [fuse(feats[2 * k], feats[2 * k + 1]) for k, fuse in enumerate(self.fusions)]


# ------------------------------------------------------------------------------------------- g_s


class LatticeSynthesis(nn.Module):
    """g_s, layout "lattice432": 4 latents B x M x h x w -> B x 3 x 16h x 16w.

    Layer l has ``4 - l`` RBU nodes (l = 0, 1, 2), each reading one input; ``fusions[l][j]`` merges the
    upsampled nodes j and j + 1, so each layer has one node fewer. A last RBU and a 3x3 conv give RGB.
    """

    def __init__(self, N: int, M: int, fusion: str, r: int):
        super().__init__()
        self.levels = nn.ModuleList(
            nn.ModuleList(ResidualBlockUpsample(M if l == 0 else N, N, 2) for _ in range(NUM_LATENTS - l))
            for l in range(NUM_LATENTS - 1)
        )
        self.fusions = nn.ModuleList(
            nn.ModuleList(make_fusion(fusion, N, r) for _ in range(NUM_LATENTS - 1 - l))
            for l in range(NUM_LATENTS - 1)
        )
        self.final = nn.Sequential(ResidualBlockUpsample(N, N, 2), conv3x3(N, 3))

    def forward(self, y_hats: Sequence[Tensor]) -> Tensor:
        feats = list(y_hats)
        for level, fusions in zip(self.levels, self.fusions):
            up = [node(f) for node, f in zip(level, feats)]
            feats = [fuse(up[j], up[j + 1]) for j, fuse in enumerate(fusions)]
        return self.final(feats[0])


class PyramidSynthesis(nn.Module):
    """g_s, layout "pyramid321": 4 latents -> 3 RBU on concatenated neighbours (2M -> N), 2 fusions,
    2 RBU, 1 fusion, 1 RBU (now at 8h x 8w), then a sub-pixel 3x3 conv to B x 3 x 16h x 16w."""

    def __init__(self, N: int, M: int, fusion: str, r: int):
        super().__init__()
        widths = (3, 2, 1)
        self.levels = nn.ModuleList(
            nn.ModuleList(ResidualBlockUpsample(2 * M if l == 0 else N, N, 2) for _ in range(n))
            for l, n in enumerate(widths)
        )
        self.fusions = nn.ModuleList(nn.ModuleList(make_fusion(fusion, N, r) for _ in range(n - 1)) for n in widths)
        self.final = subpel_conv3x3(N, 3, 2)

    def forward(self, y_hats: Sequence[Tensor]) -> Tensor:
        feats = [torch.cat((y_hats[j], y_hats[j + 1]), dim=1) for j in range(len(y_hats) - 1)]
        for level, fusions in zip(self.levels, self.fusions):
            up = [node(f) for node, f in zip(level, feats)]
            feats = [fuse(up[j], up[j + 1]) for j, fuse in enumerate(fusions)] or up
        return self.final(feats[0])


# ---------------------------------------------------------------------------------- latent codec


def checkerboard_hyperprior(M: int) -> HyperpriorLatentCodec:
    """The latent codec of ``compressai.models.Cheng2020AnchorCheckerboard(N=M)`` for a B x M x h x w y.

    strings order (``compress``): [y anchors, y non-anchors, z], one bytes object per batch item each.
    """
    leaky = lambda: nn.LeakyReLU(inplace=True)  # noqa: E731
    h_a = nn.Sequential(conv3x3(M, M), leaky(), conv3x3(M, M), leaky(), conv3x3(M, M, stride=2), leaky(),
                        conv3x3(M, M), leaky(), conv3x3(M, M, stride=2))
    wide = M * 3 // 2
    h_s = nn.Sequential(conv3x3(M, M), leaky(), subpel_conv3x3(M, M, 2), leaky(), conv3x3(M, wide), leaky(),
                        subpel_conv3x3(wide, wide, 2), leaky(), conv3x3(wide, 2 * M))
    entropy_parameters = nn.Sequential(
        nn.Conv2d(M * 12 // 3, M * 10 // 3, 1), leaky(),
        nn.Conv2d(M * 10 // 3, M * 8 // 3, 1), leaky(),
        nn.Conv2d(M * 8 // 3, M * 6 // 3, 1),
    )
    y_codec = CheckerboardLatentCodec(
        latent_codec={"y": GaussianConditionalLatentCodec(
            gaussian_conditional=inference.IndexedGaussianConditional(None), quantizer="ste")},
        entropy_parameters=entropy_parameters,
        context_prediction=CheckerboardMaskedConv2d(M, 2 * M, kernel_size=5, stride=1, padding=2),
    )
    hyper = HyperLatentCodec(entropy_bottleneck=EntropyBottleneck(M), h_a=h_a, h_s=h_s, quantizer="ste")
    return HyperpriorLatentCodec(latent_codec={"y": y_codec, "hyper": hyper})


# ----------------------------------------------------------------------------------------- model


class TreeNet(CompressionModel):
    """TreeNet (see the module docstring). Options:

    N: channels of the g_a / g_s nodes (paper: 32). M: channels of each of the 4 latents (paper: 32).
    fusion: "iaff" (default; reproduces Table III) or "aff" (the paper's literal word). r: channel
    reduction of the fusion attention (4). gs_layout: "lattice432" (default) or "pyramid321".
    """

    pad_multiple = 64

    def __init__(self, N: int = 32, M: int = 32, fusion: str = "iaff", r: int = 4, gs_layout: str = "lattice432"):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"TreeNet: unknown fusion {fusion!r}; choose one of {', '.join(FUSIONS)}")
        if gs_layout not in GS_LAYOUTS:
            raise ValueError(f"TreeNet: unknown gs_layout {gs_layout!r}; choose one of {', '.join(GS_LAYOUTS)}")
        self.N, self.M, self.fusion, self.r, self.gs_layout = N, M, fusion, r, gs_layout
        self.g_a = TreeAnalysis(N, M, fusion, r)
        self.g_s = (LatticeSynthesis if gs_layout == "lattice432" else PyramidSynthesis)(N, M, fusion, r)
        self.latent_codecs = nn.ModuleList(checkerboard_hyperprior(M) for _ in range(NUM_LATENTS))

    def config(self) -> dict:
        """The constructor keywords of this instance (``TreeNet(**model.config())`` rebuilds it)."""
        return {"N": self.N, "M": self.M, "fusion": self.fusion, "r": self.r, "gs_layout": self.gs_layout}

    # -------------------------------------------------------------- transforms (used by ablations)

    def analysis(self, x: Tensor) -> list[Tensor]:
        """g_a: B x 3 x H x W -> [y1, y2, y3, y4], each B x M x H/16 x W/16."""
        self._check_input(x)
        return self.g_a(x)

    def synthesis(self, y_hats: Sequence[Tensor | None]) -> Tensor:
        """g_s of 4 quantised latents -> B x 3 x H x W (not clamped). ``None`` entries are replaced by
        zeros (the selective / accumulative propagation ablations); at least one must be a tensor."""
        if len(y_hats) != NUM_LATENTS:
            raise ValueError(f"TreeNet.synthesis wants {NUM_LATENTS} latents (None = zeroed), got {len(y_hats)}")
        ref = next((y for y in y_hats if y is not None), None)
        if ref is None:
            raise ValueError("TreeNet.synthesis: all latents are None; pass at least one tensor (its shape is used)")
        return self.g_s([torch.zeros_like(ref) if y is None else y for y in y_hats])

    # ------------------------------------------------------------------------------ CompressAI API

    def forward(self, x: Tensor) -> dict:
        """Training / estimation pass: {"x_hat": B x 3 x H x W, "likelihoods": {"y1", "z1", ..., "y4", "z4"},
        "y_hats": [ŷ1..ŷ4]}. In eval mode ŷ_i are the rounded latents ``compress`` codes (``compress`` runs
        g_a through rdbench.models.inference: a y within float rounding of a rounding boundary could
        round the other way) and x_hat equals ``decompress``'s up to float rounding."""
        ys = self.analysis(x)
        likelihoods: dict[str, Tensor] = {}
        y_hats = []
        for i, (codec, y) in enumerate(zip(self.latent_codecs, ys), start=1):
            out = codec(y)
            likelihoods[f"y{i}"] = out["likelihoods"]["y"]
            likelihoods[f"z{i}"] = out["likelihoods"]["z"]
            y_hats.append(out["y_hat"])
        return {"x_hat": self.g_s(y_hats), "likelihoods": likelihoods, "y_hats": y_hats}

    def compress(self, x: Tensor) -> dict:
        """Entropy-code x. Returns {"strings": flat list of 12 streams, "shape": (h_z, w_z)}.

        ``strings[3 * i + s]`` is stream s of latent i + 1, with s = 0 y anchors, 1 y non-anchors,
        2 z (``STREAMS_PER_LATENT``); each stream is a list with one ``bytes`` per batch item. Every
        stream must be stored. ``shape`` is the spatial size of each z (all four are equal); y is
        M x 4h_z x 4w_z and the padded image 64h_z x 64w_z.
        """
        self._check_coding("compress")
        self._check_input(x)
        ys = inference.analysis(self.g_a, x)
        strings: list[list[bytes]] = []
        for codec, y in zip(self.latent_codecs, ys):
            strings.extend(codec.compress(y)["strings"])
        h, w = ys[0].shape[-2:]
        return {"strings": strings, "shape": (h // 4, w // 4)}

    def decompress(self, strings: Sequence[Sequence[bytes]], shape: Sequence[int]) -> dict:
        """Inverse of :meth:`compress`: {"x_hat": B x 3 x 64h_z x 64w_z in [0, 1], "y_hats": [ŷ1..ŷ4]}."""
        self._check_coding("decompress")
        expected = NUM_LATENTS * len(STREAMS_PER_LATENT)
        if len(strings) != expected:
            raise ValueError(f"TreeNet.decompress wants {expected} streams (4 latents x y anchors, y non-anchors, "
                             f"z), got {len(strings)}")
        hz, wz = (int(s) for s in shape)
        shapes = {"y": (self.M, 4 * hz, 4 * wz), "hyper": (hz, wz)}
        y_hats = []
        for i, codec in enumerate(self.latent_codecs):
            part = [list(s) for s in strings[3 * i:3 * i + 3]]
            y_hats.append(codec.decompress(part, shapes)["y_hat"])
        return {"x_hat": self.coding_synthesis(y_hats).clamp_(0, 1), "y_hats": y_hats}

    def coding_synthesis(self, y_hats: Sequence[Tensor]) -> Tensor:
        """g_s as :meth:`decompress` runs it (rdbench.models.inference: the eval forward's function up to
        float rounding, faster on a CPU). Eval mode only; not clamped."""
        self._check_coding("coding_synthesis")
        fast = inference.lattice_synthesis if self.gs_layout == "lattice432" else inference.pyramid_synthesis
        return fast(self.g_s, y_hats)

    @classmethod
    def from_state_dict(cls, state_dict: dict) -> "TreeNet":
        """Build a TreeNet whose options are read from a state dict's shapes and keys, then load it."""
        N = state_dict["g_a.levels.0.0.conv1.weight"].shape[0]
        M = state_dict["latent_codecs.0.hyper.entropy_bottleneck.quantiles"].shape[0]
        hidden = state_dict["g_a.fusions.0.att.local_att.0.weight"].shape[0]
        net = cls(N=N, M=M, r=max(M // hidden, 1),
                  fusion="iaff" if any(".att2." in k for k in state_dict) else "aff",
                  gs_layout="lattice432" if "g_s.levels.0.3.conv.weight" in state_dict else "pyramid321")
        net.load_state_dict(state_dict)
        return net

    # ----------------------------------------------------------------------------------- checks

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"TreeNet wants B x 3 x H x W, got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.pad_multiple or w % self.pad_multiple:
            raise ValueError(f"TreeNet input {h}x{w} is not a multiple of {self.pad_multiple}; pad it first "
                             f"(rdbench.models.treenet.pad_centred) and crop the output (crop_centred)")

    def _check_coding(self, what: str) -> None:
        if self.training:
            raise RuntimeError(f"TreeNet.{what} runs in eval mode only (BatchNorm in the fusion blocks): "
                               "call model.eval() first")


# ------------------------------------------------------------------------------------ padding


def pad_centred(x: Tensor, multiple: int = TreeNet.pad_multiple) -> tuple[Tensor, tuple[int, int]]:
    """Replicate-pad B x C x H x W so H and W are multiples of ``multiple``, centred (the extra pixel of an
    odd padding goes bottom / right). Returns the padded tensor and the (top, left) offsets."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    top, left = ph // 2, pw // 2
    if ph or pw:
        x = F.pad(x, (left, pw - left, top, ph - top), mode="replicate")
    return x, (top, left)


def crop_centred(x: Tensor, height: int, width: int, offset: tuple[int, int]) -> Tensor:
    """Undo :func:`pad_centred`: the height x width window at ``offset`` = (top, left)."""
    top, left = offset
    return x[..., top:top + height, left:left + width]
