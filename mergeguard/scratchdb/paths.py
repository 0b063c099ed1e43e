"""Which paths through the history ``apply`` runs on the scratch database.

Pure: a revision graph and the meeting points of a scenario in, a list of
``PlannedPath`` values out (the worker runs their ``run``; ``judge`` reads the
results):

- every head alone from an empty database, then down to base;
- at every fork the range makes branches meet, the sibling branches in every
  order (all permutations up to ``orders``, else a seeded sample), then the
  merge revision when there is one;
- the whole history up, down to base, and up again.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from mergeguard.graph.queries import fork_points, sound_heads
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.model import frozen
from mergeguard.scratchdb.protocol import DOWN_TO_BASE, RunPath, Step

HEAD_ALONE = "head"
ORDER = "order"
ROUNDTRIP = "roundtrip"


@frozen
class PlannedPath:
    """One run from an empty database: ``run`` is what the worker runs;
    ``kind`` and ``subject`` say what a failure means."""

    run: RunPath
    kind: str
    subject: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    meeting: str = ""

    @property
    def name(self) -> str:
        return self.run.name


@frozen
class Meeting:
    """Branches that meet: their tips, the merge revision (if any) and the fork."""

    title: str
    tips: tuple[str, ...]
    merge: str | None
    fork: tuple[str, ...]


@dataclass
class PathPlan:
    paths: list[PlannedPath] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _up(target: str | Sequence[str]) -> Step:
    return Step.upgrade(target if isinstance(target, str) else tuple(target))


_schema = Step.schema
DOWN = DOWN_TO_BASE


def meetings(
    graph: RevisionGraph, points: Sequence[tuple[str, Sequence[str], str | None]]
) -> list[Meeting]:
    """Meetings from (title, tips, merge revision) triples."""
    found = []
    for title, tips, merge in points:
        tips = tuple(t for t in tips if t in graph)
        if len(tips) > 1:
            found.append(Meeting(title, tips, merge, fork_points(graph, tips)))
    return found


def plan_paths(
    graph: RevisionGraph, points: Sequence[Meeting], orders: int, seed: int = 0
) -> PathPlan:
    """Every path to run for ``graph`` (see the module docstring)."""
    plan = PathPlan()
    for head in sound_heads(graph):
        alone = (_up(head), _schema("up"), DOWN, _schema("down"))
        plan.paths.append(PlannedPath(RunPath(f"{head} alone", alone), HEAD_ALONE, (head,)))
    for meeting in points:
        for order in _orders(meeting.tips, orders, seed, plan, meeting.title):
            steps: list[Step] = []
            if meeting.fork:
                steps.append(_up(meeting.fork))
            steps += [_up(tip) for tip in order]
            if meeting.merge:
                steps.append(_up(meeting.merge))
            steps.append(_schema("merged"))
            name = f"{meeting.title}: {' then '.join(order)}"
            run = RunPath(name, tuple(steps))
            plan.paths.append(PlannedPath(run, ORDER, order, order, meeting.title))
    whole = (_up("heads"), _schema("up"), DOWN, _schema("down"), _up("heads"), _schema("again"))
    plan.paths.append(PlannedPath(RunPath("whole history up, down, up", whole), ROUNDTRIP))
    return plan


def _orders(
    tips: tuple[str, ...], limit: int, seed: int, plan: PathPlan, title: str
) -> list[tuple[str, ...]]:
    """All permutations of ``tips`` up to ``limit``, else a seeded sample."""
    total = math.factorial(len(tips))
    if total <= limit:
        return list(itertools.permutations(tips))
    chosen: set[tuple[str, ...]] = {tips, tuple(reversed(tips))}
    generator = random.Random(seed)
    while len(chosen) < limit:
        chosen.add(tuple(generator.sample(tips, len(tips))))
    plan.notes.append(f"{title}: {limit} of {total} orders, sampled (seed {seed})")
    return sorted(chosen)
