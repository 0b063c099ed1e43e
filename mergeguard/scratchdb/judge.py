"""From the worker's results to MG301-MG304 (pure: results in, diagnostics out)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from mergeguard.codes import diagnostic
from mergeguard.graph.queries import conflict_groups
from mergeguard.graph.revisions import RevisionGraph, location_of
from mergeguard.model import Diagnostic, Location
from mergeguard.rules import (
    mg301_upgrade_fails,
    mg302_order_dependent_branches,
    mg303_downgrade_fails,
    mg304_roundtrip_drift,
)
from mergeguard.scratchdb.paths import HEAD_ALONE, ORDER, ROUNDTRIP, PlannedPath
from mergeguard.scratchdb.protocol import PathResult

UNITS = (
    mg301_upgrade_fails,
    mg302_order_dependent_branches,
    mg303_downgrade_fails,
    mg304_roundtrip_drift,
)
CODES = {unit.CODE.code: unit.CODE for unit in UNITS}
HINTS = {unit.CODE.code: unit.HINT for unit in UNITS}


def _where(graph: RevisionGraph, revision: str | None, fallback: str | None) -> Location | None:
    for candidate in (revision, fallback):
        if candidate and candidate in graph:
            return location_of(graph.script(candidate))
    return None


def _error(result: PathResult) -> str:
    text = (result.error or "unknown error").strip().splitlines()
    return " ".join(line.strip() for line in text[:3])


def _failed_op(result: PathResult) -> str:
    return result.failed_step.op if result.failed_step is not None else ""


def judge(
    graph: RevisionGraph, env: str, paths: Sequence[PlannedPath], results: Sequence[PathResult]
) -> list[Diagnostic]:
    """Every finding of one environment's run, each failing revision once per code."""
    found: list[Diagnostic] = []
    by_kind: dict[str, list[tuple[PlannedPath, PathResult]]] = {}
    for path, result in zip(paths, results, strict=True):
        by_kind.setdefault(path.kind, []).append((path, result))
    for path, result in by_kind.get(HEAD_ALONE, []):
        found.extend(_single(graph, env, path, result))
    meetings: dict[str, list[tuple[PlannedPath, PathResult]]] = {}
    for path, result in by_kind.get(ORDER, []):
        meetings.setdefault(path.meeting, []).append((path, result))
    for runs in meetings.values():
        found.extend(_orders(graph, env, runs))
    for path, result in by_kind.get(ROUNDTRIP, []):
        found.extend(_single(graph, env, path, result))
        found.extend(_drift(graph, env, result))
    return _once(found)


def heads_alone(
    graph: RevisionGraph, env: str, paths: Sequence[PlannedPath], results: Sequence[PathResult]
) -> str | None:
    """When the tree has conflicting heads (MG101 / MG102 report them), one line
    with what each head did applied alone: `alembic upgrade head` cannot run
    them together, so these paths are the database's whole say on them."""
    if not conflict_groups(graph):
        return None
    outcomes = [
        f"{path.name}: {_outcome(result)}"
        for path, result in zip(paths, results, strict=True)
        if path.kind == HEAD_ALONE
    ]
    return f"[{env}] several heads, each applied alone: " + "; ".join(outcomes)


def _outcome(result: PathResult) -> str:
    if result.ok:
        return "up and down cleanly"
    verb = "downgrade" if _failed_op(result) == "downgrade" else "upgrade"
    return f"{verb} fails at revision {result.revision or '?'}"


def _once(found: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, tuple[str, ...]]] = set()
    kept = []
    for item in found:
        key = (item.code, item.revisions[:1])
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _single(
    graph: RevisionGraph, env: str, path: PlannedPath, result: PathResult
) -> Iterator[Diagnostic]:
    """MG301 / MG303 for a path from an empty database; leftovers are MG304."""
    subject = path.subject[0] if path.subject else None
    revision = result.revision
    if not result.ok:
        code = "MG303" if _failed_op(result) == "downgrade" else "MG301"
        verb = "downgrading" if code == "MG303" else "upgrading"
        what = f"{subject} alone" if subject else "the whole history"
        yield diagnostic(
            CODES[code],
            f"{verb} {what} on an empty scratch database fails at revision "
            f"{revision or '?'} ({path.name}): {_error(result)}",
            _where(graph, revision, subject),
            hint=HINTS[code],
            revisions=tuple(r for r in (revision, subject) if r),
            environment=env,
        )
        return
    left = sorted(result.schemas.get("down", {}).get("tables", {}))
    if left:
        yield diagnostic(
            CODES["MG304"],
            f"after {path.name}, downgrading to base leaves tables {', '.join(left)}",
            _where(graph, subject, None),
            hint=HINTS["MG304"],
            revisions=tuple(r for r in (subject,) if r),
            environment=env,
        )


def _drift(graph: RevisionGraph, env: str, result: PathResult) -> Iterator[Diagnostic]:
    up, again = result.schemas.get("up"), result.schemas.get("again")
    if result.ok and up is not None and again is not None:
        changes = schema_difference(up, again)
        if changes:
            yield diagnostic(
                CODES["MG304"],
                "upgrade, downgrade to base and upgrade again gives another schema: "
                + "; ".join(changes),
                None,
                hint=HINTS["MG304"],
                environment=env,
            )


def _orders(
    graph: RevisionGraph, env: str, runs: list[tuple[PlannedPath, PathResult]]
) -> Iterator[Diagnostic]:
    """MG301 when every order fails, MG302 when orders disagree."""
    failed = [(p, r) for p, r in runs if not r.ok]
    passed = [(p, r) for p, r in runs if r.ok]
    if failed:
        path, result = failed[0]
        revision = result.revision
        if not passed:
            yield diagnostic(
                CODES["MG301"],
                f"the merged head fails in every order of {path.meeting} "
                f"({len(runs)} tried), e.g. {' then '.join(path.order)} at revision "
                f"{revision or '?'}: {_error(result)}",
                _where(graph, revision, path.order[-1]),
                hint=HINTS["MG301"],
                revisions=tuple(r for r in (revision, *path.order) if r),
                environment=env,
            )
            return
        good = passed[0][0]
        yield diagnostic(
            CODES["MG302"],
            f"{path.meeting}: applying {' then '.join(path.order)} fails at revision "
            f"{revision or '?'} ({_error(result)}) while {' then '.join(good.order)} succeeds",
            _where(graph, revision, path.order[-1]),
            hint=HINTS["MG302"],
            revisions=tuple(r for r in (revision, *path.order) if r),
            environment=env,
        )
        return
    yield from _differing(graph, env, passed)


def _differing(
    graph: RevisionGraph, env: str, passed: list[tuple[PlannedPath, PathResult]]
) -> Iterator[Diagnostic]:
    first_path, first = passed[0]
    reference = first.schemas.get("merged")
    for path, result in passed[1:]:
        other = result.schemas.get("merged")
        if reference is None or other is None:
            continue
        changes = schema_difference(reference, other)
        if changes:
            yield diagnostic(
                CODES["MG302"],
                f"{path.meeting}: {' then '.join(first_path.order)} and "
                f"{' then '.join(path.order)} give different schemas: " + "; ".join(changes),
                _where(graph, path.order[-1], None),
                hint=HINTS["MG302"],
                revisions=path.order,
                environment=env,
            )
            return


def schema_difference(a: Mapping[str, Any], b: Mapping[str, Any], limit: int = 8) -> list[str]:
    """Short descriptions of how schema ``b`` differs from ``a``."""
    tables_a, tables_b = a.get("tables", {}), b.get("tables", {})
    changes = [f"table {t} only in the first" for t in sorted(tables_a.keys() - tables_b.keys())]
    changes += [f"table {t} only in the second" for t in sorted(tables_b.keys() - tables_a.keys())]
    for table in sorted(tables_a.keys() & tables_b.keys()):
        left, right = tables_a[table], tables_b[table]
        for key in sorted(left.keys() | right.keys()):
            if left.get(key) != right.get(key):
                changes.append(_part_difference(table, key, left.get(key), right.get(key)))
    if a.get("enums") != b.get("enums"):
        changes.append("enum types differ")
    return changes[:limit] + ([f"and {len(changes) - limit} more"] if len(changes) > limit else [])


def _part_difference(table: str, key: str, left: Any, right: Any) -> str:
    if key == "columns" and isinstance(left, dict) and isinstance(right, dict):
        names = sorted(n for n in left.keys() | right.keys() if left.get(n) != right.get(n))
        return f"{table}: columns {', '.join(names)} differ"
    return f"{table}: {key.replace('_', ' ')} differ"
