"""The plan: what the parent asks the worker to run (parent -> worker, on stdin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mergeguard.scratchdb.protocol.fields import (
    OPS,
    Json,
    ProtocolError,
    existing_file,
    get,
    obj,
    strings,
)
from mergeguard.scratchdb.protocol.results import StepAt

ENVS = ("auto", "project", "builtin")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a path: migrate to ``targets`` (one, or ``many`` in turn), or
    record the schema under ``label``."""

    op: str
    targets: tuple[str, ...] = ()
    many: bool = False
    label: str = ""

    @classmethod
    def upgrade(cls, target: str | tuple[str, ...]) -> Step:
        many = not isinstance(target, str)
        return cls("upgrade", (target,) if isinstance(target, str) else tuple(target), many)

    @classmethod
    def schema(cls, label: str) -> Step:
        return cls("schema", label=label)

    def target(self) -> str | tuple[str, ...] | None:
        if self.op == "schema":
            return None
        return self.targets if self.many else (self.targets[0] if self.targets else None)

    def at(self, index: int) -> StepAt:
        """The step as results name it: its place in the path."""
        return StepAt(self.op, self.target(), index, self.label if self.op == "schema" else None)

    def to_json(self) -> Json:
        if self.op == "schema":
            return {"op": self.op, "label": self.label}
        return {"op": self.op, "target": _target_json(self.target())}

    @classmethod
    def from_json(cls, doc: Any, where: str, index: int) -> Step:
        doc = obj(doc, where)
        op = get(doc, "op", where, (str,), required=True)
        if op not in OPS:
            raise ProtocolError(f"{where}: 'op' must be one of {', '.join(OPS)}")
        if op == "schema":
            return cls(op, label=get(doc, "label", where, (str,)) or str(index))
        target = doc.get("target")
        if isinstance(target, str) and target:
            return cls(op, (target,))
        if isinstance(target, list) and target:
            return cls(op, strings(target, f"{where}: 'target'"), many=True)
        raise ProtocolError(
            f"{where}: 'target' must be a revision or a non-empty list of revisions"
        )


DOWN_TO_BASE = Step("downgrade", ("base",))


def _target_json(target: str | tuple[str, ...] | None) -> str | list[str] | None:
    return list(target) if isinstance(target, tuple) else target


@dataclass(frozen=True, slots=True)
class RunPath:
    """One path the worker runs from an empty database."""

    name: str
    steps: tuple[Step, ...]

    def to_json(self) -> Json:
        return {"name": self.name, "steps": [step.to_json() for step in self.steps]}

    @classmethod
    def from_json(cls, doc: Any, index: int) -> RunPath:
        where = f"plan: paths[{index}]"
        doc = obj(doc, where)
        name = get(doc, "name", where, (str,)) or f"path {index + 1}"
        steps = get(doc, "steps", where, (list,), required=True)
        return cls(
            name, tuple(Step.from_json(s, f"{where}.steps[{i}]", i) for i, s in enumerate(steps))
        )


@dataclass(frozen=True, slots=True)
class Reset:
    """How the worker empties the database before each path: delete the SQLite
    file, or run a command."""

    kind: str
    path: str = ""
    argv: tuple[str, ...] = ()

    def to_json(self) -> Json:
        if self.kind == "command":
            return {"kind": self.kind, "argv": list(self.argv)}
        return {"kind": self.kind, "path": self.path}

    @classmethod
    def from_json(cls, doc: Any) -> Reset | None:
        if doc is None:
            return None
        if not isinstance(doc, dict):
            raise ProtocolError("plan: 'reset' must be an object or null")
        kind = doc.get("kind")
        if kind == "command":
            argv = strings(doc.get("argv"), "plan: reset 'argv'")
            if not argv:
                raise ProtocolError("plan: reset 'argv' must name a command")
            return cls("command", argv=argv)
        if kind != "sqlite-file":
            raise ProtocolError("plan: reset 'kind' must be 'sqlite-file' or 'command'")
        return cls("sqlite-file", path=get(doc, "path", "plan: reset", (str,), required=True))


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the worker needs; its paths run in order."""

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
    progress: str | None = None  # a file the worker appends progress entries to

    def to_json(self) -> Json:
        return {
            "config_file": self.config_file,
            "toml_file": self.toml_file,
            "section": self.section,
            "script_location": self.script_location,
            "version_locations": list(self.version_locations),
            "recursive": self.recursive,
            "url": self.url,
            "env": self.env,
            "timeout": self.timeout,
            "version_table": self.version_table,
            "reset": None if self.reset is None else self.reset.to_json(),
            "paths": [path.to_json() for path in self.paths],
            "progress": self.progress,
        }

    @classmethod
    def from_json(cls, doc: Any) -> Plan:
        """The plan in ``doc``; the URL is checked by the worker (it needs sqlalchemy)."""
        if not isinstance(doc, dict):
            raise ProtocolError("the plan must be a JSON object")
        url: str = get(doc, "url", "plan", (str,), required=True)
        env = get(doc, "env", "plan", (str,)) or "auto"
        if env not in ENVS:
            raise ProtocolError(f"plan: 'env' must be one of {', '.join(ENVS)}")
        timeout = get(doc, "timeout", "plan", (int, float))
        if timeout is not None and not timeout > 0:
            raise ProtocolError("plan: 'timeout' must be a positive number of seconds")
        paths = get(doc, "paths", "plan", (list,), required=True)
        return cls(
            script_location=get(doc, "script_location", "plan", (str,), required=True),
            url=url,
            paths=tuple(RunPath.from_json(item, index) for index, item in enumerate(paths)),
            version_locations=strings(
                doc.get("version_locations") or [], "plan: 'version_locations'"
            ),
            recursive=get(doc, "recursive", "plan", (bool,)) is True,
            config_file=existing_file(doc, "config_file"),
            toml_file=existing_file(doc, "toml_file"),
            section=get(doc, "section", "plan", (str,)) or "alembic",
            env=env,
            timeout=float(timeout or 120.0),
            version_table=get(doc, "version_table", "plan", (str,)) or "alembic_version",
            reset=Reset.from_json(doc.get("reset")),
            progress=get(doc, "progress", "plan", (str,)),
        )
