"""Pictures of a revision graph: a tree (treeview.py), Graphviz dot, Mermaid, JSON.

Every format can mark what a range adds (``graph A..B``: ``RangeMarks``) and
keep only the newest revisions (``--limit``, in the tree's order, saying how
many were left out).  Ids, messages and labels come from the repository and
are escaped for the format they are printed in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mergeguard.graph.environments import EnvironmentRead
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.graph.scenario import MergeScenario, added_revisions
from mergeguard.model import AddedBy, DatabaseReading, Diagnostic, RangeMarks
from mergeguard.report.escaping import first_line, printable
from mergeguard.report.jsonout import diagnostic_dict, environment_summary, summary
from mergeguard.report.lanes import markers, newest_first
from mergeguard.report.rangechart import label, node_id

if TYPE_CHECKING:
    from mergeguard.report.treeview import RevisionTree

__all__ = ["dot", "graph_document", "markers", "mermaid", "range_marks", "tree"]

MESSAGE_WIDTH = 40  # characters of a message in a dot or Mermaid node
_FILL = {"ours": '"#d4f7d4"', "theirs": '"#fff3c4"', "both": '"#d4f7d4"'}


def range_marks(scenario: MergeScenario) -> RangeMarks:
    """What ``graph A..B`` marks: each side's revisions since the merge base
    that the merged graph holds."""
    added: list[tuple[str, str, AddedBy]] = []
    for env, read in scenario.merged.reads.items():
        theirs = added_revisions(scenario.base, scenario.theirs, env)
        ours = added_revisions(scenario.base, scenario.ours, env)
        for revision in read.graph.order:
            side = _added_by(revision in theirs, revision in ours)
            if side:
                added.append((env, revision, side))
    return RangeMarks(
        theirs=scenario.theirs.label,
        ours=scenario.ours.label,
        base_sha=scenario.base.sha,
        theirs_sha=scenario.theirs.sha,
        ours_sha=scenario.ours.sha,
        added=tuple(added),
    )


def _added_by(theirs: bool, ours: bool) -> AddedBy | None:
    if theirs and ours:
        return "both"
    return "theirs" if theirs else "ours" if ours else None


def tree(
    read: EnvironmentRead, marks: RangeMarks | None = None, limit: int | None = None
) -> RevisionTree:
    """One revision a line, newest first; lanes only where the history forks
    (a rich renderable: rich is imported for the tree alone, not for JSON,
    dot or Mermaid)."""
    from mergeguard.report.treeview import RevisionTree

    return RevisionTree(read, marks=marks, limit=limit)


def shown(graph: RevisionGraph, limit: int | None) -> set[str]:
    """The revisions a ``--limit`` keeps: the first ones of the tree's order."""
    order = newest_first(graph)
    return set(order if limit is None else order[:limit])


def _summary(graph: RevisionGraph, revision: str) -> str:
    """A message's first line, cut to ``MESSAGE_WIDTH`` for a node label."""
    text = first_line(graph.nodes[revision].script.message)
    return text if len(text) <= MESSAGE_WIDTH else text[: MESSAGE_WIDTH - 1] + "…"


def _side_name(marks: RangeMarks | None, side: AddedBy | None) -> str | None:
    return marks.side_name(side) if marks and side else None


def _node_lines(graph: RevisionGraph, revision: str, side: str | None) -> list[str]:
    """A node label's lines: ``+ side`` (ranges), id, indicators, message."""
    lines = [f"+ {side}"] if side else []
    lines += [" ".join([revision, *markers(graph, revision)])]
    message = _summary(graph, revision)
    return lines + ([message] if message else [])


def _quote(text: str) -> str:
    """A Graphviz quoted string: backslashes and quotes escaped, control
    characters (a newline in a revision id) shown as ``\\x..``."""
    text = printable(text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(lines: Sequence[str]) -> str:
    """Lines joined by Graphviz's ``\\n`` (added after escaping each line)."""
    return "\\n".join(_quote(line)[1:-1] for line in lines)


def dot(
    reads: Sequence[EnvironmentRead], marks: RangeMarks | None = None, limit: int | None = None
) -> str:
    """Graphviz: arrows from each revision to its parents, dashed for
    depends_on; heads bold, the range's revisions filled."""
    lines = ["digraph mergeguard {", "  rankdir=BT;", "  node [shape=box, fontname=monospace];"]
    for read in reads:
        graph, env = read.graph, read.environment.name
        added = marks.added_in(env) if marks else {}
        kept = shown(graph, limit)
        lines.append(f"  subgraph {_quote('cluster_' + env)} {{")
        lines.append(f"    label={_quote(env + ' ' + read.origin)};")
        more = _quote(f"(older revisions of {env})")  # never "env:revision" like the others
        if len(kept) < len(graph):
            left_out = f"… {len(graph) - len(kept)} older revisions not shown"
            lines.append(f"    {more} [label={_quote(left_out)}, shape=plaintext];")
        for revision in (r for r in graph.order if r in kept):
            node_id = _quote(f"{env}:{revision}")
            side = added.get(revision)
            text = _dot_label(_node_lines(graph, revision, _side_name(marks, side)))
            styles = (["bold"] if revision in graph.heads else []) + (["filled"] if side else [])
            style = f', style="{",".join(styles)}"' if styles else ""
            fill = f", fillcolor={_FILL[side]}" if side else ""
            lines.append(f'    {node_id} [label="{text}"{style}{fill}];')
            node = graph.nodes[revision]
            for parent in node.down:
                target = _quote(f"{env}:{parent}") if parent in kept else more
                lines.append(f"    {node_id} -> {target};")
            for dep in (d for d in node.deps if d in kept):
                lines.append(f"    {node_id} -> {_quote(f'{env}:{dep}')} [style=dashed];")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid(
    reads: Sequence[EnvironmentRead],
    marks: RangeMarks | None = None,
    limit: int | None = None,
    databases: Sequence[DatabaseReading] = (),
) -> str:
    """Mermaid flowchart, bottom to top like ``alembic history``; heads
    styled, the range's revisions in a class per side; each deployed
    database a cylinder pointing at the revisions its version table holds.
    Ids use letters, digits and underscores only; labels are quoted with
    entity codes."""
    lines = ["flowchart BT"]
    classes: dict[str, list[str]] = {
        "head": [],
        "ours": [],
        "theirs": [],
        "both": [],
        "database": [],
    }
    for number, read in enumerate(reads):
        graph, env = read.graph, read.environment.name
        added = marks.added_in(env) if marks else {}
        kept = shown(graph, limit)
        group = f"e{number}"
        lines.append(f"  subgraph {group}[{label(env)}]")
        more = f"{group}__older"
        if len(kept) < len(graph):
            lines.append(f"    {more}[{label(f'… {len(graph) - len(kept)} older revisions')}]")
        edges: dict[str, None] = {}
        for revision in (r for r in graph.order if r in kept):
            ident = node_id(group, revision)
            side = added.get(revision)
            text = _node_lines(graph, revision, _side_name(marks, side))
            lines.append(f"    {ident}[{label(' · '.join(text))}]")
            node = graph.nodes[revision]
            for parent in node.down:
                target = node_id(group, parent) if parent in kept else more
                edges[f"    {ident} --> {target}"] = None
            for dep in (d for d in node.deps if d in kept):
                edges[f"    {ident} -.-> {node_id(group, dep)}"] = None
            if side:
                classes[side].append(ident)
            if revision in graph.heads:
                classes["head"].append(ident)
        mine = [reading for reading in databases if reading.environment == env]
        for index, reading in enumerate(mine):
            ident = f"{group}__database{index}"
            lines.append(f"    {ident}[({label(_database_label(graph, reading))})]")
            classes["database"].append(ident)
            for row in (r for r in reading.current or () if r in graph):
                target = node_id(group, row) if row in kept else more
                edges[f"    {ident} -.-> {target}"] = None
        lines += [*edges, "  end"]
    lines += [f"  class {','.join(ids)} {name}" for name, ids in classes.items() if ids]
    lines += [
        "  classDef head stroke-width:3px",
        "  classDef ours fill:#d4f7d4",
        "  classDef theirs fill:#fff3c4",
        "  classDef both fill:#d4f7d4",
    ]
    if classes["database"]:
        lines.append("  classDef database fill:#e3ecfa")
    return "\n".join(lines) + "\n"


def _database_label(graph: RevisionGraph, reading: DatabaseReading) -> str:
    """``staging``, with what keeps it from pointing at the graph (if anything)."""
    if reading.error is not None:
        return f"{reading.name} · unreachable"
    if not reading.current:
        return f"{reading.name} · empty"
    lost = [row for row in reading.current if row not in graph]
    return f"{reading.name} · stranded on {', '.join(lost)}" if lost else reading.name


def graph_document(
    reads: Sequence[EnvironmentRead],
    diagnostics: Sequence[Diagnostic],
    marks: RangeMarks | None = None,
    limit: int | None = None,
) -> str:
    """``mergeguard/graph/1``: every revision (the ``limit`` newest) with its
    edges, indicators and, for a range, the side that adds it."""
    environments = []
    for read in reads:
        graph = read.graph
        added = marks.added_in(read.environment.name) if marks else {}
        kept = shown(graph, limit)
        revisions = [
            _revision_dict(graph, revision, added.get(revision))
            for revision in graph.topological()
            if revision in kept
        ]
        environments.append(
            {**environment_summary(read), "revisions": revisions, "omitted": len(graph) - len(kept)}
        )
    return json.dumps(
        {
            "schema": "mergeguard/graph/1",
            "range": _range_dict(marks),
            "environments": environments,
            "findings": [diagnostic_dict(d) for d in diagnostics],
            "summary": summary(diagnostics),
        },
        indent=2,
    )


def _revision_dict(graph: RevisionGraph, revision: str, side: AddedBy | None) -> dict[str, object]:
    node = graph.nodes[revision]
    return {
        "revision": revision,
        "path": str(node.script.path),
        "message": node.script.message,
        "down_revisions": list(node.script.down_revisions),
        "depends_on": list(node.script.depends_on),
        "branch_labels": sorted(node.script.branch_labels),
        "labels": sorted(node.labels),
        "is_head": revision in graph.heads,
        "is_effective_head": revision in graph.effective_heads,
        "is_base": revision in graph.bases,
        "is_branch_point": node.is_branch_point,
        "is_merge_point": node.is_merge_point,
        "added_by": side,
    }


def _range_dict(marks: RangeMarks | None) -> dict[str, object] | None:
    """The range drawn (``graph A..B``) as in ``mergeguard/check/1``; None without one."""
    if marks is None:
        return None
    return {
        "base": marks.base_sha,
        "theirs": marks.theirs_sha,
        "ours": marks.ours_sha,
        "theirs_label": marks.theirs,
        "ours_label": marks.ours,
    }
