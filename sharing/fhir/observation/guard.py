"""The pre-parse guard: bound depth, size and value types before pydantic sees the input.

Run on every resource (and on a Bundle's envelope) before fhir.resources parses it, so
hostile input costs one linear pass and never reaches a recursive validator.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from .issues import Issue, error

MAX_DEPTH = 32
MAX_STRING = 1_000_000
MAX_NODES = 20_000
UNCLEAN = _("Text must not contain U+0000 or unpaired surrogates (they cannot be stored).")
TOO_LONG = _("Strings may be at most %(max)s characters.")


def clean_text(text: str) -> bool:
    """No NUL and no unpaired surrogate: what PostgreSQL text and jsonb (and UTF-8) can hold."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check(resource: dict[str, Any], *, root: str = "Observation") -> Issue | None:
    """Bound depth, size and value types without recursion, before pydantic sees the input.

    Hot path: one pass with ``type()`` checks; paths are only built for the error.
    """
    nodes = 0
    # (container, depth, parent entry, key in parent): the path is rebuilt only on error
    stack: list[tuple[Any, int, Any, Any]] = [(resource, 1, None, None)]
    while stack:
        entry = stack.pop()
        obj, depth = entry[0], entry[1]
        if depth > MAX_DEPTH:
            msg = _("The resource is nested deeper than %(max)s levels.")
            return error("too-long", _path(entry, root), "too-deep", msg, max=MAX_DEPTH)
        nodes += len(obj)
        if nodes > MAX_NODES:
            msg = _("The resource has more than %(max)s elements.")
            return error("too-long", root, "too-many-elements", msg, max=MAX_NODES)
        is_object = isinstance(obj, dict)
        for key, value in obj.items() if is_object else enumerate(obj):
            if is_object and (
                not isinstance(key, str)
                or len(key) > MAX_STRING
                or "\x00" in key
                or not key.isascii()
                and not clean_text(key)
            ):
                msg = _("Object keys must be strings of reasonable length, without U+0000 or unpaired surrogates.")
                return error("structure", _path(entry, root), "key-invalid", msg)
            kind = type(value)
            if kind is str:
                if len(value) > MAX_STRING:
                    return error(
                        "too-long", _path((None, 0, entry, key), root), "string-too-long", TOO_LONG, max=MAX_STRING
                    )
                if "\x00" in value or not value.isascii() and not clean_text(value):  # inline: the hot path
                    return error("value", _path((None, 0, entry, key), root), "text-unclean", UNCLEAN)
            elif kind is dict or kind is list:
                stack.append((value, depth + 1, entry, key))
            elif kind is int or kind is bool or value is None:
                pass
            elif kind is float or kind is Decimal:
                if not (value.is_finite() if kind is Decimal else math.isfinite(value)):
                    msg = _("Numbers must be finite (no NaN or Infinity).")
                    return error("value", _path((None, 0, entry, key), root), "number-not-finite", msg)
            elif isinstance(value, dict | list):  # subclasses, e.g. from object_pairs_hook
                stack.append((value, depth + 1, entry, key))
            elif isinstance(value, str | int | float | Decimal) and not isinstance(value, float | Decimal):
                if isinstance(value, str) and len(value) > MAX_STRING:
                    return error(
                        "too-long", _path((None, 0, entry, key), root), "string-too-long", TOO_LONG, max=MAX_STRING
                    )
                if isinstance(value, str) and not clean_text(value):
                    return error("value", _path((None, 0, entry, key), root), "text-unclean", UNCLEAN)
            else:
                msg = _("%(type)s is not a JSON value.")
                return error("structure", _path((None, 0, entry, key), root), "not-json", msg, type=kind.__name__)
    return None


def _path(entry: tuple[Any, int, Any, Any], root: str) -> str:
    keys = []
    while entry[2] is not None:
        keys.append(entry[3])
        entry = entry[2]
    return root + "".join(f"[{k}]" if type(k) is int else f".{str(k)[:60]}" for k in reversed(keys))
