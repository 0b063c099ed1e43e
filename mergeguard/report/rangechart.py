"""A Mermaid flowchart of what one range does to one environment's graph.

The fork point(s) sit at the top; below them one subgraph per side holds the
revisions that side added since the merge base; edges go from child to
parent (``flowchart BT``).  When the merge will leave several heads (MG102) a
dashed "missing merge revision" node joins them.  Node ids use letters,
digits and underscores only; labels are quoted with Mermaid's entity codes.
"""

from __future__ import annotations

from collections.abc import Sequence

from mergeguard.graph.queries import conflict_groups, fork_points
from mergeguard.graph.scenario import MergeScenario, Side, added_revisions
from mergeguard.model import Diagnostic, MigrationScript, RangeChart, ScenarioSummary
from mergeguard.report.escaping import printable

SIDE_LIMIT = 40  # revisions drawn per side; older ones fold into one node
_ENTITIES = {'"': "#34;", "#": "#35;", "<": "#60;", ">": "#62;", "`": "#96;"}
_CLASSES = (
    "  classDef fork font-weight:bold",
    "  classDef head stroke-width:3px",
    "  classDef missing stroke-dasharray:5 5",
)


def node_id(group: str, revision: str) -> str:
    """A Mermaid-safe id, distinct for every (group, revision): characters other
    than ASCII letters and digits (``_`` included) become ``_<hex>_``."""
    body = "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_" for c in revision)
    return f"{group}_{body}"


def label(text: str) -> str:
    """``text`` on one line as a quoted Mermaid label, special characters as entities."""
    flat = printable(" ".join(text.split()))  # no ESC or bidi override reaches the page
    return '"' + "".join(_ENTITIES.get(c, c) for c in flat) + '"'


def _summary(script: MigrationScript) -> str:
    first = script.message.splitlines()[0] if script.message else ""
    first = first if len(first) <= 40 else first[:39] + "…"
    return f"{script.revision} {first}".strip()


def fork_revisions(scenario: MergeScenario, env: str) -> tuple[str, ...]:
    """Where the sides diverge: the fork points of the merged graph's conflicting
    heads, else the merge base's heads."""
    merged = scenario.merged.graph(env)
    if merged is not None:
        groups = conflict_groups(merged).values()
        forks = dict.fromkeys(f for heads in groups for f in fork_points(merged, heads))
        if forks:
            return tuple(forks)
    base = scenario.base.graph(env)
    return base.heads if base is not None else ()


class _Chart:
    """The flowchart being built: node declarations, subgraphs, edges, classes."""

    def __init__(self) -> None:
        self.context: list[str] = []
        self.subgraphs: list[str] = []
        self.edges: dict[str, None] = {}
        self.ids: dict[str, dict[str, str]] = {"base": {}, "theirs": {}, "ours": {}}
        self.classes: dict[str, list[str]] = {"fork": [], "head": [], "missing": []}

    def context_node(self, revision: str, text: str | None = None) -> str:
        """The id of a node outside the sides' subgraphs (declared on first use)."""
        known = self.ids["base"].get(revision)
        if known is not None:
            return known
        ident = self.ids["base"][revision] = node_id("base", revision)
        self.context.append(f"  {ident}[{label(text or revision)}]")
        return ident

    def resolve(self, group: str, revision: str) -> str:
        """The node a ``group`` revision's parent edge points at."""
        return self.ids[group].get(revision) or self.context_node(revision)

    def side(self, group: str, title: str, added: Sequence[MigrationScript]) -> None:
        """One subgraph with the revisions a side added (the newest ``SIDE_LIMIT``),
        ``added`` in that side's graph order."""
        order = [script.revision for script in added]
        kept, folded = order[-SIDE_LIMIT:], order[:-SIDE_LIMIT]
        lines = [f"  subgraph side_{group}[{label(title)}]"]
        if not kept:
            lines.append(f"    {group}__none[{label('no new revisions')}]")
        scripts = {script.revision: script for script in added}
        for revision in kept:
            ident = self.ids[group][revision] = node_id(group, revision)
            lines.append(f"    {ident}[{label(_summary(scripts[revision]))}]")
        if folded:
            more = f"{group}__more"
            lines.append(f"    {more}[{label(f'… {len(folded)} earlier revisions')}]")
            self.ids[group].update(dict.fromkeys(folded, more))
        self.subgraphs += [*lines, "  end"]
        self.link(group, added)

    def link(self, group: str, scripts: Sequence[MigrationScript]) -> None:
        """Edges from each drawn revision of ``group`` to its parents."""
        for script in scripts:
            child = self.ids[group][script.revision]
            for parent in script.down_revisions:
                target = self.resolve(group, parent)
                if target != child:
                    self.edges[f"  {child} --> {target}"] = None

    def missing_merge(self, number: int, heads: Sequence[str]) -> None:
        """A dashed node for the merge revision that would join ``heads``."""
        ident = f"missing_{number}"
        self.context.append(f"  {ident}[{label('missing merge revision')}]")
        self.classes["missing"].append(ident)
        for head in heads:
            target = self.ids["ours"].get(head) or self.resolve("theirs", head)
            self.edges[f"  {ident} -.-> {target}"] = None

    def mark(self, name: str, revisions: Sequence[str]) -> None:
        """Give the drawn nodes of ``revisions`` the class ``name``."""
        for group in self.ids.values():
            self.classes[name] += [group[r] for r in revisions if r in group]

    def text(self) -> str:
        """The flowchart source (no fence, no trailing newline)."""
        styles = [
            f"  class {','.join(dict.fromkeys(ids))} {name}"
            for name, ids in self.classes.items()
            if ids
        ]
        return "\n".join(
            ["flowchart BT", *self.context, *self.subgraphs, *self.edges, *_CLASSES, *styles]
        )


def _added_in_order(
    side: Side, env: str, added: dict[str, MigrationScript]
) -> tuple[MigrationScript, ...]:
    """``added`` in the order of the side's graph (as found, without a graph)."""
    graph = side.graph(env)
    order = [r for r in graph.topological() if r in added] if graph else list(added)
    return tuple(added[r] for r in order)


def chart_of(scenario: MergeScenario, env: str) -> RangeChart | None:
    """What the flowchart of ``env`` shows, or None when there is no merge base
    or neither side added a revision there."""
    if not scenario.has_base:
        return None
    theirs = added_revisions(scenario.base, scenario.theirs, env)
    ours = added_revisions(scenario.base, scenario.ours, env)
    if not (theirs or ours):
        return None
    merged = scenario.merged.graph(env)
    return RangeChart(
        environment=env,
        forks=fork_revisions(scenario, env),
        theirs=_added_in_order(scenario.theirs, env, theirs),
        ours=_added_in_order(scenario.ours, env, ours),
        merged_heads=merged.heads if merged is not None else (),
    )


def flowchart(
    range_chart: RangeChart, scenario: ScenarioSummary, diagnostics: Sequence[Diagnostic]
) -> str:
    """The range's flowchart of one environment (no fence, no trailing newline)."""
    env = range_chart.environment
    theirs = {script.revision: script for script in range_chart.theirs}
    ours = {script.revision: script for script in range_chart.ours}
    shared = {r for r in theirs.keys() & ours.keys() if theirs[r].blob == ours[r].blob}
    chart = _Chart()
    forks = range_chart.forks
    for fork in forks:
        if fork not in theirs and fork not in ours:  # else drawn in its side, in bold
            chart.context_node(fork, f"{fork} (fork point)")
    for revision in sorted(shared):
        chart.context_node(revision, _summary(ours[revision]))
    chart.link("base", [ours[r] for r in sorted(shared)])
    for group, side, added in (
        ("theirs", scenario.theirs, range_chart.theirs),
        ("ours", scenario.ours, range_chart.ours),
    ):
        chart.side(group, side.label, [s for s in added if s.revision not in shared])
    missing = [d for d in diagnostics if d.code == "MG102" and d.environment == env]
    for number, item in enumerate(missing, 1):
        chart.missing_merge(number, item.revisions)
    chart.mark("fork", forks)
    chart.mark("head", range_chart.merged_heads)
    return chart.text()
