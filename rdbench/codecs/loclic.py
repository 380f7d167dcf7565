"""LoC-LIC (rdbench.models.loclic) as a learned codec: six rate points, one weight file each.

The paper publishes no weights (the authors' repository links none) and no lambdas, so every point is
trained here (``rdbench train loclic --point K``). The lambda ladder is ours: MLIC++'s six MSE lambdas
(its training scripts; also the first six of CompressAI's zoo), with the code's loss
``lambda * 255^2 * MSE + bpp`` (``rdbench.training.loss`` with lambda2 = 0). About 70 M parameters make
a point 280 MB in float32 or 140 MB with ``--export-dtype float16``: keep them out of git.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rdbench.codecs.learned import LearnedCodec

# Ours, not the paper's (it states none): MLIC++'s lambdas, point 1 = lowest rate.
LOCLIC_LAMBDAS: dict[int, float] = {1: 0.0018, 2: 0.0035, 3: 0.0067, 4: 0.0130, 5: 0.0250, 6: 0.0483}


class LoCLICCodec(LearnedCodec):
    """LoC-LIC with the spec's default options at every point (see ``rdbench.models.loclic``)."""

    name = "loclic"
    architecture = "LoCLIC"
    default_points = tuple(LOCLIC_LAMBDAS)
    lambdas: ClassVar[dict[int, tuple[float, float]]] = {p: (lam, 0.0) for p, lam in LOCLIC_LAMBDAS.items()}

    @classmethod
    def architecture_kwargs(cls, point: int) -> dict[str, Any]:
        return {"channels": [32, 64, 128], "M": 320, "slices": 10, "hyper_channels": None, "gs_variant": "current",
                "lrp": "mlicpp-2024-06", "act": "gelu", "quantization": "mixed", "padding": "zero-bottom-right"}

    def weights_source(self, point: int) -> str:
        return (f"no published LoC-LIC weights exist; train them with `rdbench train loclic --point {point}` "
                f"(lambda {LOCLIC_LAMBDAS.get(point, '?')}, ~70 M parameters: a GPU run) and keep the "
                "<point>.safetensors + .json pair out of git")
