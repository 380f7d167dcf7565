"""Codec registry. Built-ins and packaged plugins come from the ``rdbench.codecs`` entry-point group,
one-file plugins from the plugin folders (top-level ``codecs/``; :mod:`rdbench.plugins`)."""

from rdbench.codecs.base import (STREAM_POINT, Availability, Codec, CodecError, Point, ProgressiveCodec,
                                 is_progressive, point_label)
from rdbench.codecs.options import check_options
from rdbench.registry import Registry


def _plugin_files():
    from rdbench import plugins

    return plugins.found("codec")


codecs: Registry[type[Codec]] = Registry("codec", group="rdbench.codecs", files=_plugin_files)


def create(name: str, **options) -> Codec:
    """Instantiate a registered codec with its typed keyword options (``points=...`` included).

    Each option is checked against its annotation first (:mod:`rdbench.codecs.options`): a value of the
    wrong type is refused, never coerced.
    """
    cls = codecs.get(name)
    if not (isinstance(cls, type) and issubclass(cls, Codec)):
        raise TypeError(f"codec entry {name!r} is {cls!r}, not a subclass of rdbench.codecs.base.Codec")
    check_options(name, cls, options)
    try:
        return cls(**options)
    except TypeError as exc:
        raise TypeError(f"codec {name!r}: bad options {sorted(options)}: {exc}") from exc


__all__ = ["Availability", "Codec", "CodecError", "Point", "ProgressiveCodec", "STREAM_POINT", "codecs", "create",
           "is_progressive", "point_label"]
