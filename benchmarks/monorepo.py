"""A monorepo of several Alembic environments, for ``generate.py --environments E``.

The layout is the one a services monorepo has: one directory per service,
``services/svcNN/``, each with its own ``alembic.ini`` (``script_location =
%(here)s/migrations``) and ``migrations/versions/``, the way ``alembic init``
inside each service leaves it.  Alembic runs each one as ``alembic -c
services/svcNN/alembic.ini``; mergeguard discovers every ``alembic.ini`` of the
tree as an environment, without configuration.

Every environment is a history of ``--revisions`` revisions planned as the
single-environment one (main line with forks and merges, two labelled lines,
``depends_on``), from its own seed.  What ``main`` and ``feature`` do differs by
environment, in turn (index modulo 4):

* ``diverging``: both branches add K revisions on the same parent, as in the
  single history, so ``check main..feature`` must report MG102 there;
* ``common``: both branches hold the same N revisions;
* ``feature-ahead``: ``feature`` adds K linear revisions on the main head,
  ``main`` nothing (a range that adds revisions and needs no merge point);
* ``main-ahead``: ``main`` adds K revisions, ``feature`` nothing.

Commits: the init commit, eight batch commits on ``main`` that write every
environment's shared revisions, one ``main`` commit, and one ``feature``
commit forked from ``main~1``.  Both branches are verified per environment
with Alembic's ``ScriptDirectory``, and the diverging environments' merge with
``RevisionMap``.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import alembic
from autogen import Schema
from generate import (
    ALEMBIC_INI,
    COMMON_BATCHES,
    FOUR_YEARS_MINUTES,
    GITIGNORE,
    LABELS,
    START_DATE,
    Clock,
    Node,
    Plan,
    alembic_heads,
    batches,
    commit_all,
    git,
    merged_heads,
    plan,
    set_up_origin,
    write_migrations,
)

KINDS = ("diverging", "common", "feature-ahead", "main-ahead")


@dataclass
class Service:
    """One environment of the monorepo: where it lives and what each branch adds."""

    name: str
    kind: str
    layout: Plan
    schema: Schema
    clock: Clock
    shared: list[Node]
    main_adds: list[Node]
    feature_adds: list[Node]

    @property
    def root(self) -> PurePosixPath:
        return PurePosixPath("services") / self.name

    @property
    def config(self) -> str:
        return str(self.root / "alembic.ini")

    def nodes_on(self, side: str) -> list[Node]:
        return self.shared + (self.main_adds if side == "main" else self.feature_adds)

    def expected_heads(self, side: str) -> list[str]:
        """One head per line: the main line's tip on ``side`` and the two labels'."""
        nodes = self.nodes_on(side)
        main_tip = [n.revision for n in nodes if n.line == "main"][-1]
        return sorted([main_tip, *(self.layout.tips[label] for label in LABELS)])


def service(index: int, revisions: int, feature: int, seed: int) -> Service:
    """Plan environment ``index``; its seed is derived from ``seed`` and ``index``."""
    rng = random.Random(seed * 1009 + index)
    layout = plan(revisions, feature, rng)
    kind = KINDS[index % len(KINDS)]
    shared, main_adds, feature_adds = layout.common, layout.main_only, layout.feature_only
    if kind == "common":
        shared, main_adds, feature_adds = layout.common + layout.main_only, [], []
    elif kind == "feature-ahead":
        main_adds, feature_adds = [], layout.main_only
    elif kind == "main-ahead":
        feature_adds = []
    steps = FOUR_YEARS_MINUTES / (len(layout.common) + len(layout.main_only))
    return Service(
        f"svc{index:02d}",
        kind,
        layout,
        Schema(rng),
        Clock(START_DATE, steps),
        shared,
        main_adds,
        feature_adds,
    )


def scaffold_service(repo: Path, svc: Service) -> None:
    template = Path(alembic.__file__).parent / "templates" / "generic"
    root = repo / svc.root
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    for name in ("env.py", "script.py.mako", "README"):
        shutil.copyfile(template / name, root / "migrations" / name)


def write_services(repo: Path, services: list[Service], style: str) -> dict[str, str]:
    """Commit every environment's history; returns the branch shas."""
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text(GITIGNORE)
    for svc in services:
        scaffold_service(repo, svc)
    commit_all(repo, "alembic init in every service", START_DATE)
    versions = {svc.name: repo / svc.root / "migrations" / "versions" for svc in services}
    for batch in range(COMMON_BATCHES):
        last = START_DATE
        for svc in services:
            start, stop = batches(len(svc.shared), COMMON_BATCHES)[batch]
            nodes = svc.shared[start:stop]
            last = max(
                last,
                write_migrations(versions[svc.name], nodes, start, svc.schema, style, svc.clock),
            )
        commit_all(repo, f"migrations, batch {batch + 1} of {COMMON_BATCHES}", last)
    fork_commit = git(repo, "rev-parse", "HEAD")
    forks = {
        svc.name: (svc.schema.fork(), Clock(svc.clock.now, svc.clock.step_minutes))
        for svc in services
    }
    last = START_DATE
    for svc in services:
        last = max(
            last,
            write_migrations(
                versions[svc.name], svc.main_adds, len(svc.shared), svc.schema, style, svc.clock
            ),
        )
    commit_all(repo, "main: new revisions in some services", last)
    git(repo, "checkout", "-q", "-b", "feature", fork_commit)
    for svc in services:
        schema, clock = forks[svc.name] if svc.kind == "diverging" else (svc.schema, svc.clock)
        last = max(
            last,
            write_migrations(
                versions[svc.name], svc.feature_adds, len(svc.shared), schema, style, clock
            ),
        )
    commit_all(repo, "feature: new revisions in some services", last)
    git(repo, "checkout", "-q", "main")
    set_up_origin(repo)
    return {ref: git(repo, "rev-parse", ref) for ref in ("main", "feature", "main~1")}


def verify_services(repo: Path, services: list[Service]) -> dict[str, dict[str, list[str]]]:
    """Each environment on both branches, by Alembic; raises on a surprise."""
    found: dict[str, dict[str, list[str]]] = {svc.name: {} for svc in services}
    for side in ("feature", "main"):
        git(repo, "checkout", "-q", side)
        for svc in services:
            heads, effective, count = alembic_heads(repo / svc.root)
            want, total = svc.expected_heads(side), len(svc.nodes_on(side))
            if heads != want or effective != want or count != total:
                raise SystemExit(
                    f"{svc.name} on {side}: alembic sees heads {heads}, effective {effective}, "
                    f"{count} revisions; expected {want} and {total}"
                )
            found[svc.name][side] = heads
    for svc in services:
        if svc.kind == "diverging":
            merged = merged_heads(svc.layout)
            if len(merged) != len(LABELS) + 2:
                raise SystemExit(f"{svc.name}: merged heads {merged}, expected two unlabelled")
            found[svc.name]["merged"] = merged
    return found


def manifest_fields(repo: Path, services: list[Service], style: str) -> dict[str, object]:
    """Write and verify the monorepo; returns what the manifest records about it."""
    refs = write_services(repo, services, style)
    heads = verify_services(repo, services)
    first = next(svc for svc in services if svc.kind == "diverging")
    head = first.main_adds[-1].revision
    versions = repo / first.root / "migrations" / "versions"
    return {
        "environments": {
            svc.name: {"kind": svc.kind, "config": svc.config, "heads": heads[svc.name]}
            for svc in services
        },
        "diverging": [svc.name for svc in services if svc.kind == "diverging"],
        "heads": {
            side: sorted(h for svc in services for h in heads[svc.name][side])
            for side in ("main", "feature")
        },
        "main_head_file": str(next(versions.glob(f"{head}_*.py")).relative_to(repo)),
        "refs": refs,
    }
