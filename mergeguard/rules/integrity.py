"""Integrity findings (MG001-MG007) in a check: the parser's and the graph's
findings on the checked side, narrowed to what the range is responsible for
(MG008, the docstring check, is its own unit).

A linter that nags about history nobody can change gets switched off, so a
problem in a file the range did not touch is reported only when it breaks the
graph (MG003-MG006), and as a warning when the left side already had it.
Two files of one merge revision, one from each side (MG106's twins), are left
to MG106: deleting one copy is the fix, not a new id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import PurePosixPath

from mergeguard.graph.scenario import MERGE, MergeScenario
from mergeguard.model import Diagnostic, MigrationScript, replace
from mergeguard.rules.mg106_redundant_merge import twin_files

GRAPH_BREAKING = frozenset({"MG003", "MG004", "MG005", "MG006"})


def integrity(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """The checked side's MG001-MG007 that concern this range."""
    side = scenario.checked
    read = side.reads.get(env)
    if read is None:
        return
    problems = read.diagnostics
    if not problems:
        return  # the common case: no finding, no scan of the scripts
    touched = scenario.touched
    names = {path.name for path in touched}  # by name first: hashing every path costs more
    touched_revisions = {
        s.revision for s in read.scripts if s.path.name in names and s.path in touched
    }
    known: set[tuple[str, str]] | None = None  # the left side's findings, when needed
    twins: dict[str, frozenset[PurePosixPath]] | None = None  # MG106's, when needed
    for item in problems:
        if item.code == "MG003":
            if twins is None:
                twins = twin_files(scenario, env)
            if _twin_copy(item, read.scripts, twins):
                continue  # one merge written twice: MG106 names the copy to delete
        path = item.location.path if item.location else None
        if path in scenario.touched or touched_revisions.intersection(item.revisions):
            yield _parent_on_the_other_side(item, scenario, env)
        elif item.code in GRAPH_BREAKING:
            if known is None:
                known = _left_findings(scenario, env)
            yield _already_there(item, scenario, known)


def _twin_copy(
    item: Diagnostic,
    scripts: Sequence[MigrationScript],
    twins: Mapping[str, frozenset[PurePosixPath]],
) -> bool:
    """Whether an MG003 is about exactly the two files of a twin merge."""
    if len(item.revisions) != 1 or item.revisions[0] not in twins:
        return False
    [revision] = item.revisions
    return frozenset(s.path for s in scripts if s.revision == revision) == twins[revision]


def _left_findings(scenario: MergeScenario, env: str) -> set[tuple[str, str]]:
    """(code, message) of the left side's integrity findings (none without a base)."""
    theirs = scenario.theirs.reads.get(env)
    if not scenario.has_base or theirs is None:
        return set()
    return {(d.code, d.message) for d in theirs.diagnostics}


def _already_there(
    item: Diagnostic, scenario: MergeScenario, known: set[tuple[str, str]]
) -> Diagnostic:
    """A graph-breaking problem the left side already had is one warning."""
    if (item.code, item.message) not in known:
        return item
    return replace(
        item, severity="warning", message=f"{item.message} (already on {scenario.theirs.label})"
    )


def _parent_on_the_other_side(item: Diagnostic, scenario: MergeScenario, env: str) -> Diagnostic:
    """MG004 for a parent that only the other side has yet: what `fix --merge`
    and `fix --rebase` write on a branch.  The merge resolves it, so it is a
    warning that the branch cannot be deployed alone."""
    if item.code != "MG004" or not scenario.has_base or scenario.kind == MERGE:
        return item
    mine, theirs = scenario.checked.scripts(env), scenario.theirs.scripts(env)
    labels = {label for s in theirs.values() for label in s.branch_labels}
    for revision in item.revisions:
        script = mine.get(revision)
        if script is None:
            return item
        missing = [n for n in (*script.down_revisions, *script.depends_on) if n not in mine]
        if not missing or not all(n in theirs or n in labels for n in missing):
            return item
    other = scenario.theirs.label
    return replace(
        item,
        severity="warning",
        hint=None,
        message=f"{item.message}; it is on {other}: merge or rebase onto {other} "
        "before deploying this branch on its own",
    )
