"""Planning a repair: which heads a merge revision joins, which chain a rebase
moves, and the re-check that the result has one head per line.

Pure over a scenario: it returns ``FilePatch`` values (``apply`` writes
them) and the reasons for refusing.  A rebase never touches a published
revision (one the base or the other side already has): Alembic would then
skip or repeat migrations on databases that applied it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import PurePosixPath

from mergeguard.errors import MergeguardError
from mergeguard.fix.deployed import merge_runs, rebase_refusals
from mergeguard.graph.building import build
from mergeguard.graph.queries import conflict_groups
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.graph.scenario import (
    MERGE,
    MergeScenario,
    Side,
    added_revisions,
    deployed_side,
    published_revisions,
)
from mergeguard.model import Diagnostic, Environment, FilePatch, MigrationScript, frozen
from mergeguard.parse.header import read_script
from mergeguard.parse.reading import read_module


@dataclass
class Plan:
    """What a fix will write, what it says, and why it refuses (if it does)."""

    patches: list[FilePatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    conflicts: list[Diagnostic] = field(default_factory=list)
    # what the deployed databases will run of a merge (fix/deployed.py: merge_runs)
    databases: list[str] = field(default_factory=list)
    # the environment of each new merge file (its post-write hooks are the environment's)
    environments: dict[PurePosixPath, Environment] = field(default_factory=dict)


def target_side(scenario: MergeScenario) -> Side:
    """The tree the repair is for: the merge result where there is one."""
    return deployed_side(scenario)


# -- fix --merge -----------------------------------------------------------------------


@frozen
class MergeOptions:
    message: str | None = None
    rev_id: str | None = None
    create_date: datetime | None = None


TemplateReader = Callable[[Environment], bytes | None]
Exists = Callable[[PurePosixPath], bool]
FileReader = Callable[[MigrationScript], bytes | None]


def plan_merge(
    scenario: MergeScenario,
    options: MergeOptions,
    template_of: TemplateReader,
    exists: Exists,
    conflicts: Sequence[Diagnostic] = (),
    read_head: FileReader = lambda script: None,
) -> Plan:
    """One merge revision per line with conflicting heads (all its heads).

    Without ``--rev-id`` (and for every line but the first with it) the id
    comes from the heads, and the Create Date always does (``merge_identity``):
    ``read_head`` gives a head's file, for its Create Date.
    """
    from mergeguard.fix.merge_file import MergeFileError

    plan = Plan()
    side = target_side(scenario)
    first = True
    for env, read in side.reads.items():
        graph = read.graph
        for heads in conflict_groups(graph).values():
            given = options.rev_id if first else None
            first = False
            joined = tuple(h for h in graph.order if h in heads)
            try:
                patch = _merge_patch(
                    read.environment, graph, joined, options, given, template_of, exists, read_head
                )
            except MergeFileError as exc:
                plan.refusals.append(f"cannot render script.py.mako: {exc}")
                continue
            except _Refused as refused:
                plan.refusals.append(str(refused))
                continue
            found = [d for d in conflicts if d.environment == env]
            if found:
                patch = _with_conflict_comment(patch, found)
                plan.conflicts.extend(found)
            after = _recheck_merge(plan, graph, patch, joined, env)
            if after is not None:
                plan.environments[patch.path] = read.environment
                plan.databases.extend(merge_runs(scenario, env, *after))
    return plan


_ALREADY_MERGED = (
    " (the same heads give the same id: a merge of these heads is already written there,"
    " perhaps by someone else; commit it, or pass --rev-id for another file)"
)


class _Refused(Exception):
    """A merge revision that cannot be made for one line (the message says why)."""


def _merge_patch(
    environment: Environment,
    graph: RevisionGraph,
    joined: tuple[str, ...],
    options: MergeOptions,
    given: str | None,
    template_of: TemplateReader,
    exists: Exists,
    read_head: FileReader,
) -> FilePatch:
    """The merge file joining ``joined``; raises _Refused or MergeFileError."""
    from mergeguard.fix.merge_file import merge_file
    from mergeguard.fix.merge_identity import merge_create_date, merge_rev_id, written_create_date

    template = template_of(environment)
    if template is None:
        raise _Refused(
            f"no script.py.mako in {environment.script_location or 'the environment'}"
            ": mergeguard renders the project's own template (pass -c alembic.ini)"
        )
    rev_id = given or merge_rev_id(joined)
    origin = "--rev-id" if given else f"the id derived from heads {', '.join(sorted(joined))}"
    if rev_id in graph:
        raise _Refused(
            f"revision {rev_id} ({origin}) already exists in {graph.script(rev_id).path}: "
            "mergeguard never writes a second revision with the same id; pass --rev-id "
            "with another id"
        )
    date = options.create_date
    if date is None:
        written = (written_create_date(read_head(graph.script(h)) or b"") for h in joined)
        date = merge_create_date([d for d in written if d is not None], environment.timezone)
    try:
        return merge_file(
            environment,
            template,
            joined,
            message=options.message,
            rev_id=rev_id,
            create_date=date,
            existing=exists,
            head_paths={h: graph.script(h).path for h in joined},
        )
    except FileExistsError as exc:
        same = "" if given else _ALREADY_MERGED
        raise MergeguardError(
            f"{exc.filename} already exists; mergeguard never overwrites a file{same}",
            hint="pass --rev-id with another id",
        ) from exc


def _recheck_merge(
    plan: Plan, graph: RevisionGraph, patch: FilePatch, heads: tuple[str, ...], env: str
) -> tuple[RevisionGraph, str] | None:
    """Add the patch only if the graph with it has no conflicting heads left
    (when added: that graph and the merge revision's id)."""
    facts = read_module(patch.after)
    result = read_script(facts, patch.path)
    # A header recovered from a file Python cannot parse is no merge file to write.
    if result.script is None or facts.error is not None:
        plan.refusals.append(f"the rendered merge file {patch.path} does not read back")
        return None
    scripts = [graph.script(r) for r in graph.order] + [result.script]
    after, _ = build(scripts, env)
    left = [h for group in conflict_groups(after).values() for h in group if h in heads]
    if left:
        plan.refusals.append(f"joining {', '.join(heads)} would still leave heads {left}")
        return None
    plan.patches.append(patch)
    plan.notes.append(
        f"{patch.path}: merge revision {result.script.revision} joins {', '.join(heads)} [{env}]"
    )
    return after, result.script.revision


def _with_conflict_comment(patch: FilePatch, conflicts: Sequence[Diagnostic]) -> FilePatch:
    """Say in the merge file itself that its branches conflict in the schema."""
    text = patch.after.decode("utf-8", "surrogateescape")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = [
        "# mergeguard: the joined branches conflict in the schema; resolve this before "
        "deploying (see `mergeguard check`):"
    ]
    lines += [f"#   {d.code} {d.name}: {d.message}" for d in conflicts]
    block = newline.join(lines) + newline + newline
    marker = text.find(f"{newline}def upgrade")
    at = marker + len(newline) if marker >= 0 else len(text)
    text = text[:at] + block + text[at:]
    return replace(patch, after=text.encode("utf-8", "surrogateescape"))


# -- fix --rebase ----------------------------------------------------------------------


def plan_rebase(scenario: MergeScenario, read_file: FileReader) -> Plan:
    """Re-point this side's new chain onto the other side's head(s)."""
    from mergeguard.fix.codemod import CodemodError, repoint

    plan = Plan()
    if scenario.kind == MERGE:
        plan.refusals.append(
            "a merge is in progress: its result needs a merge revision (`mergeguard fix --merge`)"
        )
        return plan
    side = target_side(scenario)
    for env, read in side.reads.items():
        graph = read.graph
        mine = set(added_revisions(scenario.base, scenario.ours, env))
        published = published_revisions(scenario, env)
        moves: dict[str, tuple[str, ...]] = {}
        for heads in conflict_groups(graph).values():
            _plan_group(plan, graph, heads, mine, published, moves, scenario)
        if not moves:
            continue
        refused = rebase_refusals(scenario, env, graph, moves)
        if refused:
            plan.refusals.extend(refused)
            continue
        _recheck_rebase(plan, graph, moves, env)
        for revision, new_down in moves.items():
            script = graph.script(revision)
            before = read_file(script)
            if before is None:
                plan.refusals.append(f"{script.path} is not in the working tree")
                continue
            try:
                after = repoint(before, new_down, script.spans)
            except CodemodError as exc:
                plan.refusals.append(f"{script.path}: {exc}")
                continue
            plan.patches.append(FilePatch(script.path, before, after))
            plan.notes.append(
                f"{script.path}: down_revision of {revision} -> {', '.join(new_down)} [{env}]"
            )
    return plan


def _plan_group(
    plan: Plan,
    graph: RevisionGraph,
    heads: tuple[str, ...],
    mine: set[str],
    published: set[str],
    moves: dict[str, tuple[str, ...]],
    scenario: MergeScenario,
) -> None:
    """The moves that linearize one group of conflicting heads, or a refusal."""
    ours = [h for h in heads if h in mine]
    others = tuple(h for h in heads if h not in mine)
    other = scenario.theirs.label
    if not ours:
        plan.refusals.append(
            f"heads {', '.join(heads)} are all published (on {other} or the merge base): "
            "re-pointing one would change a published revision, and Alembic would skip "
            "migrations on databases that applied it; join them with `mergeguard fix --merge`"
        )
        return
    if len(ours) > 1 or not others:
        plan.refusals.append(
            f"{scenario.ours.label} itself has heads {', '.join(ours)}: there is no single "
            "chain to move; join them with `mergeguard fix --merge`"
        )
        return
    chain = graph.ancestors([ours[0]], dependencies=False) - graph.ancestors(
        others, dependencies=False
    )
    for revision in sorted(chain):
        parents = graph.script(revision).down_revisions
        if all(p in chain for p in parents) and parents:
            continue  # inside the chain: it moves along with its root
        if revision in published or revision not in mine:
            plan.refusals.append(
                f"revision {revision} ({graph.script(revision).path}) is published on {other}: "
                "re-pointing it would make Alembic skip migrations on databases that applied "
                "it; use `mergeguard fix --merge` instead"
            )
            return
        kept = tuple(p for p in parents if p in chain)
        moves[revision] = tuple(dict.fromkeys(kept + others))


def _recheck_rebase(
    plan: Plan, graph: RevisionGraph, moves: dict[str, tuple[str, ...]], env: str
) -> None:
    scripts = [
        replace(graph.script(r), down_revisions=moves[r]) if r in moves else graph.script(r)
        for r in graph.order
    ]
    after, _ = build(scripts, env)
    if conflict_groups(after):
        plan.refusals.append(
            f"re-pointing {', '.join(moves)} would still leave conflicting "
            "heads; use `mergeguard fix --merge`"
        )
