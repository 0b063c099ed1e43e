"""What comes back from the worker (untrusted: it runs project code).

The result document on stdout is an ``Outcome``; each path's is a
``PathResult``.  The progress file holds ``Running``, ``Done`` and
``EnvChosen`` entries, one JSON object a line.  ``from_json`` checks every
field a reader relies on and raises ProtocolError naming the first bad one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mergeguard.scratchdb.protocol.fields import OPS, Json, ProtocolError, get, obj

FAILED_OPS = (*OPS, "reset", "connect")  # reset and connect come before any step
USED_ENVS = ("project", "builtin")
Target = str | tuple[str, ...] | None


def _target(value: Any, where: str) -> Target:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ProtocolError(f"{where}: 'target' must be a revision, a list of them or null")


def _revisions(doc: Json, key: str, where: str) -> tuple[str, ...]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(f"{where}: {key!r} must be a list of revisions")
    return tuple(value)


def _line(doc: Json, where: str) -> int | None:
    line: int | None = get(doc, "line", where, (int,))
    return line


@dataclass(frozen=True, slots=True)
class StepAt:
    """A step as results name it: ``index`` in its path (None for reset/connect)."""

    op: str
    target: Target = None
    index: int | None = None
    label: str | None = None  # a schema step's

    def to_json(self) -> Json:
        target = list(self.target) if isinstance(self.target, tuple) else self.target
        described: Json = {"op": self.op, "target": target, "index": self.index}
        if self.op == "schema":
            described["label"] = self.label
        return described

    @classmethod
    def from_json(cls, doc: Any, where: str) -> StepAt:
        doc = obj(doc, where)
        op = get(doc, "op", where, (str,), required=True)
        if op not in FAILED_OPS:
            raise ProtocolError(f"{where}: 'op' must be one of {', '.join(FAILED_OPS)}")
        target = _target(doc.get("target"), where)
        return cls(op, target, get(doc, "index", where, (int,)), get(doc, "label", where, (str,)))


@dataclass(frozen=True, slots=True)
class StepRun:
    """A step that ran: whether it succeeded, the revisions it ran, how long it took
    (None when the worker gave up on it)."""

    at: StepAt
    ok: bool
    ran: tuple[str, ...] = ()
    seconds: float | None = None

    def to_json(self) -> Json:
        return {**self.at.to_json(), "ok": self.ok, "ran": list(self.ran), "seconds": self.seconds}

    @classmethod
    def from_json(cls, doc: Any, where: str) -> StepRun:
        doc = obj(doc, where)
        return cls(
            StepAt.from_json(doc, where),
            get(doc, "ok", where, (bool,), required=True),
            _revisions(doc, "ran", where),
            get(doc, "seconds", where, (int, float)),
        )


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a file (absolute, as the worker saw it)."""

    path: str
    line: int | None = None

    def to_json(self) -> Json:
        return {"path": self.path, "line": self.line}

    @classmethod
    def from_json(cls, doc: Any, where: str) -> Location | None:
        if doc is None:
            return None
        doc = obj(doc, where)
        return cls(get(doc, "path", where, (str,), required=True), _line(doc, where))


@dataclass(frozen=True, slots=True)
class MissingModule:
    """A module the project imports that is not installed, and the line importing it."""

    name: str
    path: str | None = None
    line: int | None = None

    def to_json(self) -> Json:
        return {"name": self.name, "path": self.path, "line": self.line}

    @classmethod
    def from_json(cls, doc: Any, where: str) -> MissingModule | None:
        if doc is None:
            return None
        doc = obj(doc, where)
        name = get(doc, "name", where, (str,), required=True)
        return cls(name, get(doc, "path", where, (str,)), _line(doc, where))


def _schemas(doc: Json, where: str) -> dict[str, Json]:
    """Schema snapshots by label, each ``{"tables": {name: {...}}, "enums", "version"}``."""
    schemas = get(doc, "schemas", where, (dict,)) or {}
    for label, schema in schemas.items():
        at = f"{where}: schemas[{label!r}]"
        schema = obj(schema, at)
        tables = get(schema, "tables", at, (dict,)) or {}
        if not all(isinstance(table, dict) for table in tables.values()):
            raise ProtocolError(f"{at}: every table must be an object")
        get(schema, "enums", at, (list,))
        get(schema, "version", at, (list,))
    return schemas


@dataclass(frozen=True, slots=True)
class PathResult:
    """The result of one path: ``ok``, else the failing step, the database's own
    error text, the revision running, its place and statement."""

    name: str
    ok: bool
    failed_step: StepAt | None = None
    error: str | None = None
    error_type: str | None = None
    revision: str | None = None
    location: Location | None = None
    sql: str | None = None
    missing_module: MissingModule | None = None
    ran: tuple[str, ...] = ()
    steps: tuple[StepRun, ...] = ()
    schemas: dict[str, Json] = field(default_factory=dict)
    seconds: float | None = None

    def to_json(self) -> Json:
        return {
            "name": self.name,
            "ok": self.ok,
            "failed_step": None if self.failed_step is None else self.failed_step.to_json(),
            "error": self.error,
            "error_type": self.error_type,
            "revision": self.revision,
            "location": None if self.location is None else self.location.to_json(),
            "sql": self.sql,
            "missing_module": None
            if self.missing_module is None
            else self.missing_module.to_json(),
            "ran": list(self.ran),
            "steps": [step.to_json() for step in self.steps],
            "schemas": self.schemas,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, doc: Any, where: str = "result") -> PathResult:
        doc = obj(doc, where)
        failed = doc.get("failed_step")
        failed_at = f"{where}.failed_step"
        steps = get(doc, "steps", where, (list,)) or []
        return cls(
            name=get(doc, "name", where, (str,), required=True),
            ok=get(doc, "ok", where, (bool,), required=True),
            failed_step=None if failed is None else StepAt.from_json(failed, failed_at),
            error=get(doc, "error", where, (str,)),
            error_type=get(doc, "error_type", where, (str,)),
            revision=get(doc, "revision", where, (str,)),
            location=Location.from_json(doc.get("location"), f"{where}.location"),
            sql=get(doc, "sql", where, (str,)),
            missing_module=MissingModule.from_json(
                doc.get("missing_module"), f"{where}.missing_module"
            ),
            ran=_revisions(doc, "ran", where),
            steps=tuple(StepRun.from_json(s, f"{where}.steps[{i}]") for i, s in enumerate(steps)),
            schemas=_schemas(doc, where),
            seconds=get(doc, "seconds", where, (int, float)),
        )


def _env_used(doc: Json, where: str) -> str:
    env = get(doc, "env_used", where, (str,), required=True)
    if env not in USED_ENVS:
        raise ProtocolError(f"{where}: 'env_used' must be one of {', '.join(USED_ENVS)}")
    return str(env)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The worker's result document: the environment it used and every path's result."""

    env_used: str
    env_error: str | None
    paths: tuple[PathResult, ...]

    def to_json(self) -> Json:
        paths = [path.to_json() for path in self.paths]
        return {"env_used": self.env_used, "env_error": self.env_error, "paths": paths}

    @classmethod
    def from_json(cls, doc: Any) -> Outcome:
        where = "the worker's result"
        doc = obj(doc, where)
        if "paths" not in doc and isinstance(doc.get("error"), str):
            raise ProtocolError(f"the worker reported: {' '.join(doc['error'].split())}")
        paths = get(doc, "paths", where, (list,), required=True)
        return cls(
            _env_used(doc, where),
            get(doc, "env_error", where, (str,)),
            tuple(PathResult.from_json(p, f"{where}: paths[{i}]") for i, p in enumerate(paths)),
        )


def error_document(message: str) -> Json:
    """The worker's answer when it has no results (a malformed plan, an internal error)."""
    return {"error": message}


# -- the progress file ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Running:
    """The worker is about to run ``revision`` in ``step`` of path ``path``."""

    path: str | None
    step: StepAt | None
    revision: str

    def to_json(self) -> Json:
        step = {} if self.step is None else self.step.to_json()
        return {"running": {"path": self.path, "step": step, "revision": self.revision}}


@dataclass(frozen=True, slots=True)
class Done:
    """A path finished: its result."""

    result: PathResult

    def to_json(self) -> Json:
        return {"done": self.result.to_json()}


@dataclass(frozen=True, slots=True)
class EnvChosen:
    """The environment the worker uses from now on."""

    env_used: str
    env_error: str | None

    def to_json(self) -> Json:
        return {"env_used": self.env_used, "env_error": self.env_error}


ProgressEntry = Running | Done | EnvChosen


def progress_entry(doc: Any) -> ProgressEntry:
    """One line of the progress file, parsed; ProtocolError when it is none of the three."""
    where = "progress entry"
    doc = obj(doc, where)
    if "done" in doc:
        return Done(PathResult.from_json(doc["done"], f"{where}: done"))
    if "running" in doc:
        running = obj(doc["running"], f"{where}: running")
        at = f"{where}: running"
        step = running.get("step") or None
        return Running(
            get(running, "path", at, (str,)),
            None if step is None else StepAt.from_json(step, f"{at}.step"),
            get(running, "revision", at, (str,), required=True),
        )
    if "env_used" in doc:
        return EnvChosen(_env_used(doc, where), get(doc, "env_error", where, (str,)))
    raise ProtocolError(f"{where} must hold 'done', 'running' or 'env_used'")
