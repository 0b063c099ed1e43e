"""Pictures of a revision graph: a rich tree, Graphviz dot, Mermaid, JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from rich.markup import escape
from rich.tree import Tree

from mergeguard.engine import EnvironmentRead
from mergeguard.graph import RevisionGraph
from mergeguard.model import Diagnostic
from mergeguard.report.jsonout import diagnostic_dict, environment_summary, summary


def markers(graph: RevisionGraph, revision: str) -> list[str]:
    """Alembic's indicators for one revision: labels, head, branch/merge point."""
    node = graph.nodes[revision]
    marks = [f"({', '.join(sorted(node.labels))})"] if node.labels else []
    if revision in graph.effective_heads:
        marks.append("(head)")
    elif revision in graph.heads:
        marks.append("(effective head)")
    if node.is_branch_point:
        marks.append("(branchpoint)")
    if node.is_merge_point:
        marks.append("(mergepoint)")
    return marks


def tree(read: EnvironmentRead) -> Tree:
    """Bases at the top, each revision under its first parent; a merge point
    is drawn once and referred to from its other parents."""
    graph = read.graph
    root = Tree(f"[bold]{escape(read.environment.name)}[/bold] [dim]{escape(read.origin)}[/dim]")
    drawn: set[str] = set()
    for base in graph.bases:
        _grow(graph, root, base, drawn)
    for revision in graph.order:  # cycles have no base: show them anyway
        if revision not in drawn:
            _grow(graph, root, revision, drawn)
    return root


def _grow(graph: RevisionGraph, parent: Tree, start: str, drawn: set[str]) -> None:
    stack: list[tuple[Tree, str]] = [(parent, start)]
    while stack:
        branch, revision = stack.pop()
        if revision in drawn:
            branch.add(f"[dim]-> {escape(revision)} (see above)[/dim]")
            continue
        drawn.add(revision)
        node = graph.nodes[revision]
        label = " ".join(
            [f"[cyan]{escape(revision)}[/cyan]", *map(escape, markers(graph, revision))]
        )
        if node.script.message:
            label += f" [dim]{escape(node.script.message.splitlines()[0])}[/dim]"
        if node.deps:
            label += f" [magenta](depends on {escape(', '.join(node.deps))})[/magenta]"
        child_tree = branch.add(label)
        for child in reversed(node.children):
            stack.append((child_tree, child))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(reads: Sequence[EnvironmentRead]) -> str:
    """Graphviz: arrows from each revision to its parents, dashed for depends_on."""
    lines = ["digraph mergeguard {", "  rankdir=BT;", "  node [shape=box, fontname=monospace];"]
    for read in reads:
        graph, env = read.graph, read.environment.name
        lines.append(f"  subgraph {_quote('cluster_' + env)} {{")
        lines.append(f"    label={_quote(env + ' ' + read.origin)};")
        for revision in graph.order:
            node_id = _quote(f"{env}:{revision}")
            text = "\\n".join([revision, *markers(graph, revision)])
            style = ", style=bold" if revision in graph.heads else ""
            lines.append(f"    {node_id} [label={_quote(text)}{style}];")
            for parent in graph.nodes[revision].down:
                lines.append(f"    {node_id} -> {_quote(f'{env}:{parent}')};")
            for dep in graph.nodes[revision].deps:
                lines.append(f"    {node_id} -> {_quote(f'{env}:{dep}')} [style=dashed];")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(env: str, revision: str) -> str:
    return "n_" + re.sub(r"\W", "_", f"{env}_{revision}")


def mermaid(reads: Sequence[EnvironmentRead]) -> str:
    """Mermaid flowchart, bottom to top like ``alembic history``; heads styled."""
    lines = ["flowchart BT"]
    for read in reads:
        graph, env = read.graph, read.environment.name
        lines.append(f'  subgraph {_mermaid_id(env, "")}["{env}"]')
        for revision in graph.order:
            text = " ".join([revision, *markers(graph, revision)]).replace('"', "'")
            lines.append(f'    {_mermaid_id(env, revision)}["{text}"]')
        for revision in graph.order:
            node = graph.nodes[revision]
            for parent in node.down:
                lines.append(f"    {_mermaid_id(env, revision)} --> {_mermaid_id(env, parent)}")
            for dep in node.deps:
                lines.append(f"    {_mermaid_id(env, revision)} -.-> {_mermaid_id(env, dep)}")
        lines.append("  end")
        for head in graph.heads:
            lines.append(f"  class {_mermaid_id(env, head)} head")
    lines.append("  classDef head stroke-width:3px")
    return "\n".join(lines) + "\n"


def graph_document(reads: Sequence[EnvironmentRead], diagnostics: Sequence[Diagnostic]) -> str:
    """``mergeguard/graph/1``: every revision with its edges and indicators."""
    environments = []
    for read in reads:
        graph = read.graph
        revisions = []
        for revision in graph.topological():
            node = graph.nodes[revision]
            revisions.append(
                {
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
                }
            )
        environments.append({**environment_summary(read), "revisions": revisions})
    return json.dumps(
        {
            "schema": "mergeguard/graph/1",
            "environments": environments,
            "findings": [diagnostic_dict(d) for d in diagnostics],
            "summary": summary(diagnostics),
        },
        indent=2,
    )
