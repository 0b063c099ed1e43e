"""Building the revision graph, with Alembic's semantics (alembic/script/revision.py).

``build(scripts)`` is pure: migration facts in, an immutable ``RevisionGraph``
and the integrity diagnostics (MG003-MG007) out, all of them in one pass
instead of Alembic's first exception.  Alembic's ``RevisionMap`` is the test
oracle: heads, effective heads, bases, branch labels and identifier
resolution must agree with it on every graph.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from mergeguard import codes
from mergeguard.codes import Code, diagnostic
from mergeguard.graph.revisions import (
    GraphMemo,
    Links,
    NodeMap,
    RevisionGraph,
    topological_order,
)
from mergeguard.graph.walks import invert, propagate_labels, strongly_connected
from mergeguard.model import Diagnostic, Location, MigrationScript, Span

ILLEGAL_ID_CHARS = frozenset("@-+:")
# Missing parents of one field reported one by one; the rest share a finding.
_MAX_MISSING_REPORTED = 20
# Bounds of the "did you mean" search of an MG004 hint.
_MAX_HINT_ID_CHARS = 200
_MAX_HINT_CANDIDATES = 5_000


def build(
    scripts: Sequence[MigrationScript], environment: str = ""
) -> tuple[RevisionGraph, tuple[Diagnostic, ...]]:
    """The graph of ``scripts`` (in Alembic's load order) and its problems.

    Two sides of a check often hold the same scripts (the reader shares the
    script of a (path, blob) between snapshots): their graph is built once."""
    key = (environment, tuple(map(id, scripts)))
    found = _recent.get(key)
    if found is not None and all(map(operator.is_, found[0], scripts)):
        return found[1]
    built = _Builder(environment).build(scripts)
    if len(_recent) >= _RECENT_GRAPHS:
        del _recent[next(iter(_recent))]
    _recent[key] = (tuple(scripts), built)  # holding the scripts keeps their ids unique
    return built


# The last few graphs built, by the identity of their scripts.  A graph and its
# problems are immutable values, so handing the same ones out twice is safe.
_RECENT_GRAPHS = 128  # a monorepo's environments, on the four sides of a check
_recent: dict[
    tuple[str, tuple[int, ...]],
    tuple[tuple[MigrationScript, ...], tuple[RevisionGraph, tuple[Diagnostic, ...]]],
] = {}


class _Builder:
    def __init__(self, environment: str) -> None:
        self.environment = environment
        self.problems: list[Diagnostic] = []
        self.on_cycles: set[str] = set()  # revisions on a cycle or naming themselves

    def report(
        self,
        code: Code,
        message: str,
        script: MigrationScript | None,
        span: Span | None = None,
        **kwargs: object,
    ) -> None:
        location = None
        if script is not None:
            span = span or script.spans.revision or Span(1)
            location = Location(script.path, span.line, span.column)
        self.problems.append(
            diagnostic(
                code,
                message,
                location,
                environment=self.environment,
                **kwargs,  # type: ignore[arg-type]
            )
        )

    def build(
        self, scripts: Sequence[MigrationScript]
    ) -> tuple[RevisionGraph, tuple[Diagnostic, ...]]:
        by_id = self.unique_scripts(scripts)
        label_owners = self.label_owners(by_id)
        down, deps = self.edges(by_id, label_owners, scripts)
        order = tuple(by_id)
        children, dependents = invert(order, down, deps)
        labels = propagate_labels(order, by_id, children, dependents)
        links = Links(
            by_id, down, deps, children, dependents, {r: frozenset(v) for r, v in labels.items()}
        )
        placed = topological_order(order, links)
        if len(placed) < len(order):
            self.cycles(by_id, down, deps, set(order).difference(placed))
            seen = set(placed)
            placed += tuple(r for r in order if r not in seen)
        graph = RevisionGraph(
            environment=self.environment,
            order=order,
            nodes=NodeMap(links),
            heads=tuple(r for r in order if not children[r]),
            effective_heads=tuple(r for r in order if not children[r] and not dependents[r]),
            bases=tuple(r for r in order if not by_id[r].down_revisions),
            label_owners=MappingProxyType(label_owners),
            cyclic=frozenset(self.on_cycles),
            memo=GraphMemo(topological=placed),
        )
        return graph, tuple(self.problems)

    def unique_scripts(self, scripts: Sequence[MigrationScript]) -> dict[str, MigrationScript]:
        """Scripts by id; a later file with the same id replaces the earlier one,
        as Alembic's map does (MG003 names both)."""
        by_id = {script.revision: script for script in scripts}
        if len(by_id) == len(scripts) and _sound_ids(by_id):
            return by_id  # the common case: no finding, one pass
        by_id = {}
        for script in scripts:
            self.check_id(script)
            earlier = by_id.pop(script.revision, None)
            if earlier is not None:
                self.report(
                    codes.MG003,
                    f"revision {script.revision} is declared by both {earlier.path} and "
                    f"{script.path}; Alembic keeps only one of them",
                    script,
                    revisions=(script.revision,),
                    hint=f"give one of them a new id (`alembic revision` makes one) and "
                    f"re-point its children; or delete the copy in {script.path}",
                )
            by_id[script.revision] = script
        return by_id

    def check_id(self, script: MigrationScript) -> None:
        bad = sorted(ILLEGAL_ID_CHARS.intersection(script.revision))
        if bad or not script.revision:
            what = f"character(s) {', '.join(repr(c) for c in bad)}" if bad else "an empty id"
            self.report(
                codes.MG007,
                f"revision id {script.revision!r} in {script.path} has {what}, which Alembic "
                'rejects ("not allowed in revision identifier")',
                script,
                revisions=(script.revision,),
                hint="use letters, digits and underscores (alembic revision makes 12 hex digits)",
            )

    def label_owners(self, by_id: Mapping[str, MigrationScript]) -> dict[str, str]:
        owners: dict[str, str] = {}
        for revision, script in [(r, s) for r, s in by_id.items() if s.branch_labels]:
            for label in script.branch_labels:
                if label in by_id:
                    self.report(
                        codes.MG006,
                        f"branch label {label!r} of revision {revision} is also a revision id "
                        f"({by_id[label].path}); labels and ids share one namespace",
                        script,
                        script.spans.branch_labels,
                        revisions=(revision, label),
                        hint="rename the branch label",
                    )
                elif label in owners:
                    self.report(
                        codes.MG006,
                        f"branch label {label!r} is declared by both {owners[label]} "
                        f"({by_id[owners[label]].path}) and {revision} ({script.path})",
                        script,
                        script.spans.branch_labels,
                        revisions=(owners[label], revision),
                        hint="keep the label on the first revision of the branch only",
                    )
                else:
                    owners[label] = revision
        return owners

    def edges(
        self,
        by_id: Mapping[str, MigrationScript],
        owners: Mapping[str, str],
        scripts: Sequence[MigrationScript],
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        """Present parents and resolved dependencies of every revision."""
        down: dict[str, tuple[str, ...]] = {}
        deps: dict[str, tuple[str, ...]] = {}
        for revision, script in by_id.items():
            parents = script.down_revisions
            if len(parents) == 1 and parents[0] in by_id and parents[0] != revision:
                down[revision] = parents  # the common case, without the general checks
            else:
                down[revision] = self.present(script, "down_revision", by_id, {}, scripts)
            if not script.depends_on:
                deps[revision] = ()
                continue
            resolved = self.present(script, "depends_on", by_id, owners, scripts)
            deps[revision] = tuple(dict.fromkeys(d for d in resolved if d not in down[revision]))
        return down, deps

    def present(
        self,
        script: MigrationScript,
        field: str,
        by_id: Mapping[str, MigrationScript],
        owners: Mapping[str, str],
        scripts: Sequence[MigrationScript],
    ) -> tuple[str, ...]:
        """The revisions ``field`` names that exist (labels resolved through
        ``owners``); each missing one is an MG004, a self-reference an MG005."""
        names = script.depends_on if field == "depends_on" else script.down_revisions
        found: list[str] = []
        missing: list[str] = []
        for name in names:
            target = name if name in by_id else owners.get(name)
            if target is None:
                missing.append(name)
                if len(missing) > _MAX_MISSING_REPORTED:
                    continue  # summed up in one finding below
            if target == script.revision:
                self.on_cycles.add(target)
                through = "" if name == target else f" (through its branch label {name!r})"
                self.report(
                    codes.MG005,
                    f"revision {target} names itself in its {field}{through}",
                    script,
                    _field_span(script, field),
                    revisions=(target,),
                    hint=f"point {field} at the revision this one follows",
                )
            elif target is None:
                self.report(
                    codes.MG004,
                    f"{field} of {script.revision} names {name!r}, which no migration in "
                    f"this environment declares",
                    script,
                    _field_span(script, field),
                    revisions=(script.revision,),
                    hint=_missing_hint(name, script.revision, by_id, scripts),
                )
            else:
                found.append(target)
        if len(missing) > _MAX_MISSING_REPORTED:
            self.more_missing(script, field, missing[_MAX_MISSING_REPORTED:])
        return tuple(dict.fromkeys(found))

    def more_missing(self, script: MigrationScript, field: str, rest: Sequence[str]) -> None:
        """One MG004 for the missing parents past the first few: a hostile
        file naming thousands must not print thousands of findings."""
        self.report(
            codes.MG004,
            f"{field} of {script.revision} names {len(rest):,} more revisions which no "
            f"migration in this environment declares",
            script,
            _field_span(script, field),
            revisions=(script.revision,),
            hint="add the missing migrations, or point at existing revisions (`mergeguard heads`)",
        )

    def cycles(
        self,
        by_id: Mapping[str, MigrationScript],
        down: Mapping[str, tuple[str, ...]],
        deps: Mapping[str, tuple[str, ...]],
        leftover: set[str],
    ) -> None:
        """Report every cycle (strongly connected component) once, and note its
        members: walks that assume a DAG leave them alone.  ``leftover`` are
        the revisions a topological sort could not place (on or above a cycle)."""
        edges = {r: down[r] + deps[r] if deps[r] else down[r] for r in by_id if r in leftover}
        position = {r: i for i, r in enumerate(edges)}  # load order
        for component in strongly_connected(edges):
            if len(component) < 2:
                continue
            self.on_cycles.update(component)
            members = sorted(component, key=position.__getitem__)
            first = by_id[members[0]]
            via = (
                "down_revision"
                if all(any(p in component for p in down[m]) for m in members)
                else "down_revision / depends_on"
            )
            self.report(
                codes.MG005,
                f"revisions {' -> '.join(members)} form a cycle through {via}; "
                'Alembic stops with "Cycle is detected in revisions"',
                first,
                _field_span(first, "down_revision"),
                revisions=tuple(members),
                hint="point one of them at a revision outside the cycle",
            )


def _sound_ids(by_id: Mapping[str, MigrationScript]) -> bool:
    """True when no id is empty or has a character Alembic rejects (one scan
    of all ids at once; ``check_id`` says which, when one has)."""
    if "" in by_id:
        return False
    joined = "\n".join(by_id)
    return not any(char in joined for char in ILLEGAL_ID_CHARS)


def _field_span(script: MigrationScript, field: str) -> Span | None:
    return script.spans.depends_on if field == "depends_on" else script.spans.down_revision


def _missing_hint(
    name: str,
    asker: str,
    by_id: Mapping[str, MigrationScript],
    scripts: Sequence[MigrationScript],
) -> str:
    """What ``asker``'s missing parent ``name`` probably meant; never ``asker``
    itself (a revision cannot follow itself)."""
    by_id = {r: s for r, s in by_id.items() if r != asker}
    for script in scripts:
        if script.revision != asker and name in (script.path.name, script.path.stem):
            return (
                f"{name!r} looks like a file name; the revision in that file is {script.revision!r}"
            )
    prefixed = [r for r in by_id if r.startswith(name)] if len(name) >= 4 else []
    if len(prefixed) == 1:
        return f"Alembic needs the full id here: did you mean {prefixed[0]!r}?"
    import difflib  # only for a missing parent's hint

    close = difflib.get_close_matches(name, _near_in_length(name, by_id), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}? (`mergeguard heads` lists the revisions)"
    return "add the missing migration, or point at an existing revision (`mergeguard heads`)"


def _near_in_length(name: str, ids: Iterable[str]) -> list[str]:
    """The ids difflib may find close to ``name``: a ratio of 0.6 needs the
    lengths within a factor of 7/3, and beyond a few thousand candidates (or
    a very long name) the search costs more than a hint is worth."""
    if len(name) > _MAX_HINT_ID_CHARS:
        return []
    low, high = len(name) * 3 / 7, len(name) * 7 / 3
    return list(itertools.islice((r for r in ids if low <= len(r) <= high), _MAX_HINT_CANDIDATES))
