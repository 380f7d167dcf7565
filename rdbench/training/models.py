"""What is trained: a learned codec's fresh model per rate point, its lambdas, and weight export.

Any codec registered under ``rdbench.codecs`` that subclasses
:class:`rdbench.codecs.learned.LearnedCodec` can be trained: the codec class builds the model
(``build(point)``, i.e. its architecture with the constructor keywords of that point) and the
exported ``<point>.safetensors`` + ``<point>.json`` are written by
:func:`rdbench.codecs.learned.save_weights`, so the codec loads them like any other weights.

Lambdas per rate point, in order of precedence:
1. ``--lambda1`` / ``--lambda2`` given on the command line;
2. a ``lambdas`` mapping on the codec class, ``{point: (lambda1, lambda2)}`` (the plugin hook);
3. TreeNet (architecture ``TreeNet``): the paper's four pairs, matched by index and ordered by
   rate: point 1 = (0.00125, 0.3) lowest rate, 2 = (0.0025, 0.6), 3 = (0.005, 1.2),
   point 4 = (0.01, 2.4) highest rate (larger lambdas weigh distortion more, so buy more bits);
4. CompressAI zoo architectures: the MSE lambdas CompressAI trained its zoo with,
   quality q -> (ZOO_MSE_LAMBDAS[q], 0), with the same ``lambda * 255^2 * MSE + bpp`` loss
   (``compressai/models/vbr.py`` lists the same eight values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TREENET_LAMBDAS: dict[int, tuple[float, float]] = {
    1: (0.00125, 0.3), 2: (0.0025, 0.6), 3: (0.005, 1.2), 4: (0.01, 2.4)}
ZOO_MSE_LAMBDAS: dict[int, float] = {
    1: 0.0018, 2: 0.0035, 3: 0.0067, 4: 0.0130, 5: 0.0250, 6: 0.0483, 7: 0.0932, 8: 0.1800}
ZOO_ARCHITECTURES = ("FactorizedPrior", "ScaleHyperprior", "MeanScaleHyperprior",
                     "JointAutoregressiveHierarchicalPriors", "Cheng2020Anchor", "Cheng2020Attention")


class TrainSetupError(ValueError):
    """A model, point or lambda choice that cannot be trained, with the allowed values."""


def learned_codec_class(name: str):
    """The registered learned-codec class called `name` (raises naming the trainable ones)."""
    from rdbench.codecs import codecs

    cls = codecs.get(name)
    if not _trainable(cls):
        raise TrainSetupError(f"codec {name!r} is not a learned codec, so it cannot be trained; "
                              f"trainable: {', '.join(trainable_codecs()) or 'none registered'}")
    return cls


def trainable_codecs() -> list[str]:
    """Names of the registered learned codecs (those whose class can be imported here)."""
    from rdbench.codecs import codecs

    names = []
    for name in codecs.names():
        try:
            cls = codecs.get(name)
        except Exception:  # a broken plugin is reported when it is asked for by name
            continue
        if _trainable(cls):
            names.append(name)
    return names


def _trainable(cls) -> bool:
    """A LearnedCodec, or a codec class that names its weight files' points (``training_points``: a
    progressive trit-plane codec trains one model for every truncation point)."""
    from rdbench.codecs.learned import LearnedCodec

    return isinstance(cls, type) and (issubclass(cls, LearnedCodec) or hasattr(cls, "training_points"))


def check_point(codec_cls, point: int) -> None:
    points = tuple(int(p) for p in getattr(codec_cls, "training_points", codec_cls.default_points))
    if point not in points:
        raise TrainSetupError(f"codec {codec_cls.name!r} has no rate point {point}; "
                              f"choose from {', '.join(map(str, points))}")


def lambdas_for(codec_cls, point: int, lambda1: float | None = None,
                lambda2: float | None = None) -> tuple[float, float, str]:
    """(lambda1, lambda2, where they come from) for a codec's rate point; see the module docstring."""
    table: dict[int, tuple[float, float]] | None = getattr(codec_cls, "lambdas", None)
    source = f"{codec_cls.__name__}.lambdas"
    if table is None and codec_cls.architecture == "TreeNet":
        table, source = TREENET_LAMBDAS, "TreeNet paper, section III-A (pairs matched by index, by rate)"
    if table is None and codec_cls.architecture in ZOO_ARCHITECTURES:
        table = {q: (lam, 0.0) for q, lam in ZOO_MSE_LAMBDAS.items()}
        source = "CompressAI zoo MSE lambdas (lambda * 255^2 * MSE + bpp)"
    default = table.get(point) if table else None
    if default is None and (lambda1 is None or lambda2 is None):
        raise TrainSetupError(f"no default lambdas for codec {codec_cls.name!r} point {point}; "
                              "give both --lambda1 and --lambda2")
    l1 = default[0] if lambda1 is None else float(lambda1)
    l2 = default[1] if lambda2 is None else float(lambda2)
    if lambda1 is not None or lambda2 is not None:
        source = "command line" if default is None else f"command line over {source}"
    return l1, l2, source


def new_model(codec_cls, point: int):
    """A freshly initialised model for the point, in training mode (seed torch first)."""
    return codec_cls.build(point).train()


def pad_multiple(model) -> int:
    """The side multiple a model's input needs (``pad_multiple`` attribute, default 64)."""
    return int(getattr(model, "pad_multiple", 64))


def weights_path(codec_name: str, point: int, root) -> Path:
    """Where a rate point's weights go: ``<root>/<codec>/<point>.safetensors`` (the codecs' layout)."""
    from rdbench.codecs.learned import weights_path as codec_weights_path

    return codec_weights_path(codec_name, point, root)


def export_weights(codec_cls, point: int, state_dict: dict, path, metadata: dict[str, Any],
                   dtype: str = "float32") -> str:
    """Write trained weights for a rate point via ``save_weights``; returns the file's sha256.

    A fresh model is built from the codec's description and loaded with `state_dict`, so the
    model being trained is left untouched (``save_weights`` calls ``update(force=True)``). Building
    it does not draw from the training run's random stream (a forked CPU RNG).
    """
    import torch

    from rdbench.codecs.learned import save_weights

    with torch.random.fork_rng(devices=[]):
        model = codec_cls.build(point)
    model.load_state_dict({k: v.detach().to("cpu") for k, v in state_dict.items()})
    meta = {"codec": codec_cls.name, "point": int(point), "architecture": codec_cls.architecture,
            "kwargs": codec_cls.architecture_kwargs(point), **metadata}
    return save_weights(model.eval(), path, meta, dtype=dtype)


def initial_state(codec_name: str, point: int, weights_dir=None) -> tuple[dict, dict]:
    """(state_dict, sidecar) of committed weights to continue training from (``--init-from-weights``)."""
    import torch

    from rdbench.codecs.learned import load_model

    with torch.random.fork_rng(devices=[]):
        model, meta = load_model(codec_name, point, weights_dir)
    return model.state_dict(), meta
