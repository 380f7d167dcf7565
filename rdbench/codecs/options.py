"""Codec options checked against the annotations of the codec's ``__init__``, before it runs.

A config value or a ``--option KEY=VALUE`` reaches the codec as the YAML value it is. Python would
take ``optimize="no"`` for true, so every option is checked against its annotated type first:

    bool            true / false, nothing else (not 0/1, not "no")
    int             an integer (not a bool)          float   a number (an integer too)
    str             a string                         os.PathLike  a path (a string passes as str)
    Sequence[X]     a list of X (not a string)       X | None     X, or null
    Literal[...]    one of the values                Any, unannotated  anything

An unknown option name or a value of the wrong type is a :class:`TypeError` naming the codec, the
option, the value and what it should be.
"""

from __future__ import annotations

import collections.abc
import inspect
import os
import types
import typing
from typing import Any

_SEQUENCES = {list, tuple, collections.abc.Sequence, collections.abc.Iterable}
_MAPPINGS = {dict, collections.abc.Mapping}


def check_options(name: str, cls: type, options: dict[str, Any]) -> None:
    """Raise TypeError unless every option is a parameter of ``cls.__init__`` of its annotated type."""
    params = {n: p for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception as exc:  # an annotation that names something undefined: say which codec
        raise TypeError(f"codec {name!r}: cannot read the option annotations of {cls.__qualname__}: {exc}") from exc
    known = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key, value in options.items():
        if key not in known and not open_ended:
            raise TypeError(f"codec {name!r} has no option {key!r}; its options are: {', '.join(known)}")
        hint = hints.get(key)
        if hint is not None and not conforms(value, hint):
            raise TypeError(f"codec {name!r}: option {key}={value!r} ({type(value).__name__}) is not "
                            f"{describe(hint)}")


def conforms(value: Any, hint: Any) -> bool:
    """Whether `value` (as YAML gives it) is of the annotated type `hint`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or isinstance(hint, typing.TypeVar):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, a) for a in args)
    if hint is None or hint is type(None):
        return value is None
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if hint is bool:
        return type(value) is bool
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin in _SEQUENCES or hint in _SEQUENCES:
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:  # tuple[int, str]: fixed length
            return len(value) == len(args) and all(map(conforms, value, args))
        return all(conforms(v, args[0] if args else Any) for v in value)
    if origin in _MAPPINGS or hint in _MAPPINGS:
        key, val = args if len(args) == 2 else (Any, Any)
        return isinstance(value, dict) and all(conforms(k, key) and conforms(v, val) for k, v in value.items())
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # an annotation this checker does not know (a Protocol, a string): the codec checks


def describe(hint: Any) -> str:
    """`hint` in words, as a config author writes values."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(describe(a) for a in args))
    if hint is type(None) or hint is None:
        return "null"
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin in _SEQUENCES or hint in _SEQUENCES:
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin in _MAPPINGS or hint in _MAPPINGS:
        return "a mapping"
    words = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             os.PathLike: "a path"}
    return words.get(hint, getattr(hint, "__name__", str(hint)))
