"""Schema snapshots: the scratch database's schema, read with SQLAlchemy's inspector.

A snapshot is canonical JSON: equal schemas give equal documents, so two paths
that should end in the same schema can be compared by equality.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import String, column, inspect, select, table
from sqlalchemy.engine import Connection, Dialect, Inspector
from sqlalchemy.engine.interfaces import ReflectedIndex
from sqlalchemy.types import TypeEngine

from mergeguard.scratchdb.protocol import Json

_QUOTED_OR_NOT = re.compile(r"'(?:[^']|'')*'|[^']+")
T = TypeVar("T")


def snapshot(connection: Connection, version_table: str) -> Json:
    """The schema of the database (``version_table`` aside), in a canonical form:
    equal schemas give equal JSON."""
    inspector = inspect(connection)
    names = inspector.get_table_names()
    tables = {
        name: _table(inspector, connection.dialect, name)
        for name in sorted(names)
        if name != version_table
    }
    version: list[str] = []
    if version_table in names:
        query = select(column("version_num", String)).select_from(table(version_table))
        version = sorted(str(value) for value in connection.execute(query).scalars())
    return {"tables": tables, "enums": _enums(inspector, connection.dialect), "version": version}


def _table(inspector: Inspector, dialect: Dialect, name: str) -> Json:
    columns = {
        c["name"]: {
            "type": _type_name(c["type"], dialect),
            "nullable": bool(c["nullable"]),
            "default": None if c.get("default") is None else str(c.get("default")),
        }
        for c in inspector.get_columns(name)
    }
    indexes = _reflect(inspector.get_indexes, name)
    uniques = _reflect(inspector.get_unique_constraints, name)
    foreign_keys = _reflect(inspector.get_foreign_keys, name)
    checks = _reflect(inspector.get_check_constraints, name)
    return {
        "columns": dict(sorted(columns.items())),
        "primary_key": list(inspector.get_pk_constraint(name).get("constrained_columns") or []),
        "indexes": _canonical(
            {"name": ix["name"], "columns": _index_columns(ix), "unique": bool(ix["unique"])}
            for ix in indexes
        ),
        "unique_constraints": _canonical(
            {"name": uc["name"], "columns": list(uc["column_names"])} for uc in uniques
        ),
        "foreign_keys": _canonical(
            {
                "name": fk["name"],
                "columns": list(fk["constrained_columns"]),
                "referred_table": fk["referred_table"],
                "referred_columns": list(fk["referred_columns"]),
            }
            for fk in foreign_keys
        ),
        "check_constraints": _canonical(
            {"name": ck["name"], "sqltext": str(ck["sqltext"])} for ck in checks
        ),
    }


def _index_columns(index: ReflectedIndex) -> list[str]:
    """The indexed columns; an expression (None in ``column_names``) as its SQL text."""
    expressions = index.get("expressions") or []
    return [
        name if name is not None else (expressions[i] if i < len(expressions) else "?")
        for i, name in enumerate(index["column_names"])
    ]


def _type_name(type_: TypeEngine[Any], dialect: Dialect) -> str:
    """The column type as the backend spells it (``str(type)`` when it cannot),
    upper-cased except inside quotes (an ENUM's values keep their case)."""
    try:
        text = str(type_.compile(dialect=dialect))
    except Exception:  # noqa: BLE001 - a project's custom type may fail any way to compile
        try:
            text = str(type_)
        except Exception:  # noqa: BLE001 - likewise its __str__: the class name then
            text = type(type_).__name__
    return _QUOTED_OR_NOT.sub(lambda m: m[0] if m[0].startswith("'") else m[0].upper(), text)


def _reflect(method: Callable[[str], list[T]], name: str) -> list[T]:
    try:
        return method(name)
    except NotImplementedError:  # a dialect without that reflection
        return []


def _canonical(items: Iterable[Json]) -> list[Json]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))


def _enums(inspector: Inspector, dialect: Dialect) -> list[Json]:
    get_enums = getattr(inspector, "get_enums", None)
    if dialect.name != "postgresql" or not callable(get_enums):
        return []
    return _canonical({"name": e["name"], "values": list(e["labels"])} for e in get_enums())
