"""The worker's JSON plan: parsed and validated before any project code runs.

See the worker's module docstring (``mergeguard.scratchdb.worker``) for the
plan's shape. A malformed plan is a PlanError with a one-line message (the
worker's exit status 2).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

OPS = ("upgrade", "downgrade", "schema")
ENVS = ("auto", "project", "builtin")
Json = dict[str, Any]


class PlanError(ValueError):
    """The plan is not one the worker understands (exit status 2)."""


@dataclass(frozen=True, slots=True)
class Step:
    op: str
    targets: tuple[str, ...] = ()
    many: bool = False
    label: str = ""

    def describe(self, index: int) -> Json:
        """The step as the plan wrote it, for ``failed_step`` and ``steps``."""
        target = list(self.targets) if self.many else (self.targets[0] if self.targets else None)
        described: Json = {"op": self.op, "target": target, "index": index}
        if self.op == "schema":
            described["label"] = self.label
        return described


@dataclass(frozen=True, slots=True)
class Reset:
    kind: str
    path: str = ""
    argv: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunPath:
    name: str
    steps: tuple[Step, ...]
    raw: Json = field(compare=False)


@dataclass(frozen=True, slots=True)
class Plan:
    script_location: str
    url: str
    paths: tuple[RunPath, ...]
    version_locations: tuple[str, ...] = ()
    recursive: bool = False  # recursive_version_locations: sub-directories hold revisions
    config_file: str | None = None
    toml_file: str | None = None
    section: str = "alembic"
    env: str = "auto"
    timeout: float = 120.0
    version_table: str = "alembic_version"
    reset: Reset | None = None
    progress: str | None = None  # a file the worker appends progress lines to
    raw: Json = field(default_factory=dict, compare=False)


def _field(doc: Json, key: str, where: str, kinds: tuple[type, ...], required: bool = False) -> Any:
    value = doc.get(key)
    if value is None:
        if required:
            raise PlanError(f"{where}: {key!r} is required")
        return None
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(kind.__name__ for kind in kinds)
        raise PlanError(f"{where}: {key!r} must be {names}, not {type(value).__name__}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PlanError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def _existing_file(doc: Json, key: str) -> str | None:
    value: str | None = _field(doc, key, "plan", (str,))
    if value is not None and not os.path.isfile(value):
        raise PlanError(f"plan: {key} {value!r} is not a file")
    return value


def parse_plan(text: str) -> Plan:
    """The plan in ``text``; PlanError (one line) when it is malformed."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"the plan is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PlanError("the plan must be a JSON object")
    url: str = _field(doc, "url", "plan", (str,), required=True)
    try:
        parsed_url = make_url(url)
    except ArgumentError:
        raise PlanError("plan: 'url' is not a database URL") from None
    env = _field(doc, "env", "plan", (str,)) or "auto"
    if env not in ENVS:
        raise PlanError(f"plan: 'env' must be one of {', '.join(ENVS)}")
    timeout = _field(doc, "timeout", "plan", (int, float))
    if timeout is not None and not timeout > 0:
        raise PlanError("plan: 'timeout' must be a positive number of seconds")
    raw_paths = _field(doc, "paths", "plan", (list,), required=True)
    return Plan(
        script_location=_field(doc, "script_location", "plan", (str,), required=True),
        url=url,
        paths=tuple(_path(index, item) for index, item in enumerate(raw_paths)),
        version_locations=_strings(doc.get("version_locations") or [], "plan: 'version_locations'"),
        recursive=_field(doc, "recursive", "plan", (bool,)) is True,
        config_file=_existing_file(doc, "config_file"),
        toml_file=_existing_file(doc, "toml_file"),
        section=_field(doc, "section", "plan", (str,)) or "alembic",
        env=env,
        timeout=float(timeout or 120.0),
        version_table=_field(doc, "version_table", "plan", (str,)) or "alembic_version",
        reset=_reset(doc.get("reset"), parsed_url),
        progress=_field(doc, "progress", "plan", (str,)),
        raw=doc,
    )


def _reset(doc: Any, url: URL) -> Reset | None:
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise PlanError("plan: 'reset' must be an object or null")
    kind = doc.get("kind")
    if kind == "command":
        argv = _strings(doc.get("argv"), "plan: reset 'argv'")
        if not argv:
            raise PlanError("plan: reset 'argv' must name a command")
        return Reset("command", argv=argv)
    if kind != "sqlite-file":
        raise PlanError("plan: reset 'kind' must be 'sqlite-file' or 'command'")
    path: str = _field(doc, "path", "plan: reset", (str,), required=True)
    if url.get_backend_name() != "sqlite" or sqlite_file(url) != os.path.realpath(path):
        raise PlanError("plan: reset 'path' is not the SQLite file that 'url' names")
    return Reset("sqlite-file", path=path)


def _path(index: int, doc: Any) -> RunPath:
    where = f"plan: paths[{index}]"
    if not isinstance(doc, dict):
        raise PlanError(f"{where} must be an object")
    name = _field(doc, "name", where, (str,)) or f"path {index + 1}"
    steps = _field(doc, "steps", where, (list,), required=True)
    return RunPath(
        name, tuple(_step(f"{where}.steps[{i}]", i, s) for i, s in enumerate(steps)), doc
    )


def _step(where: str, index: int, doc: Any) -> Step:
    if not isinstance(doc, dict):
        raise PlanError(f"{where} must be an object")
    op = _field(doc, "op", where, (str,), required=True)
    if op not in OPS:
        raise PlanError(f"{where}: 'op' must be one of {', '.join(OPS)}")
    if op == "schema":
        return Step(op, label=_field(doc, "label", where, (str,)) or str(index))
    target = doc.get("target")
    if isinstance(target, str) and target:
        return Step(op, (target,))
    if isinstance(target, list) and target:
        return Step(op, _strings(target, f"{where}: 'target'"), many=True)
    raise PlanError(f"{where}: 'target' must be a revision or a non-empty list of revisions")


def sqlite_file(url: URL) -> str:
    """The real path of the file a SQLite URL names (memory and URI names as they are)."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return database
    return os.path.realpath(os.path.expanduser(database))
