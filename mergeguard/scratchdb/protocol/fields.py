"""Reading the protocol's JSON documents: typed fields, one-line ProtocolErrors."""

from __future__ import annotations

import json
import os
from typing import Any

Json = dict[str, Any]
OPS = ("upgrade", "downgrade", "schema")  # the steps a plan may hold


class ProtocolError(ValueError):
    """A document of the protocol is malformed (for a plan: the worker's exit status 2)."""


# -- reading fields -----------------------------------------------------------------


def decode(text: str, what: str) -> Any:
    """The JSON value in ``text``; ProtocolError naming ``what`` when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"the {what} is not JSON: {exc}") from None


def encode(document: Json) -> str:
    return json.dumps(document, default=str)


def obj(doc: Any, where: str) -> Json:
    if not isinstance(doc, dict):
        raise ProtocolError(f"{where} must be an object")
    return doc


def get(doc: Json, key: str, where: str, kinds: tuple[type, ...], required: bool = False) -> Any:
    value = doc.get(key)
    if value is None:
        if required:
            raise ProtocolError(f"{where}: {key!r} is required")
        return None
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(kind.__name__ for kind in kinds)
        raise ProtocolError(f"{where}: {key!r} must be {names}, not {type(value).__name__}")
    return value


def strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProtocolError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def existing_file(doc: Json, key: str) -> str | None:
    value: str | None = get(doc, key, "plan", (str,))
    if value is not None and not os.path.isfile(value):
        raise ProtocolError(f"plan: {key} {value!r} is not a file")
    return value
