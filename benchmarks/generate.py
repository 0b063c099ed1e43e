"""Generate a large synthetic Alembic history in a fresh git repository.

    python benchmarks/generate.py --revisions 5000 --out /tmp/hist-5000 [--style mixed]
                                  [--seed 0] [--feature-revisions 5] [--environments 1]

The revision graph (ids are seeded, so one seed gives one history):

* an unlabelled main line, mostly linear; every 15-35 revisions a branch
  point forks into two (every fourth time three) short branches of 1-3
  revisions, interleaved, that a merge revision (tuple ``down_revision``)
  joins again;
* two labelled lines, ``audit`` and ``reporting``, each its own base
  (``down_revision = None``, ``branch_labels = ('<label>',)``), growing now
  and then;
* four ``depends_on`` across lines, one of them naming the label
  ``reporting``, one a list of two ids; none points at a head.

Git history: an ``alembic init``-like commit, the first N - K revisions in
eight batch commits on ``main``; then ``main`` adds K linear revisions on the
main head (one commit) and branch ``feature``, forked from the commit before
(``main~1``), adds K other revisions on the same parent.  ``main`` and
``feature`` each hold N revisions with one head per line (three heads);
merging them leaves two unlabelled heads, so ``mergeguard check main..feature``
must report a missing merge point.  ``refs/remotes/origin/main`` points at
``main`` and is its upstream.  ``.git/mergeguard-bench.json`` records the
parameters and the expected heads (the runner reuses repositories by it).

``--environments E`` (E > 1) makes a monorepo instead: E services of N
revisions each under ``services/svcNN/``, each its own ``alembic.ini``
(see ``monorepo.py``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import alembic
from autogen import Change, Header, Schema, render, slug

GENERATOR_VERSION = 2
MANIFEST = "mergeguard-bench.json"
LABELS = ("audit", "reporting")
COMMON_BATCHES = 8
START_DATE = datetime(2021, 3, 1, 9, 0, 0)
FOUR_YEARS_MINUTES = 4 * 365 * 24 * 60
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench Committer",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}
ALEMBIC_INI = """\
# A generic, single database configuration.

[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
path_separator = os
sqlalchemy.url = sqlite:///%(here)s/app.db

[post_write_hooks]

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""
GITIGNORE = "__pycache__/\n*.db\n"


@dataclass
class Node:
    """One planned revision: its place in the graph, not yet its text."""

    revision: str
    down: tuple[str, ...]
    line: str
    side: str = "common"
    labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    merge: bool = False
    in_fork: bool = False


@dataclass
class Planner:
    """Builds the revision graph in creation order."""

    rng: random.Random
    nodes: list[Node] = field(default_factory=list)
    tips: dict[str, str] = field(default_factory=dict)
    by_line: dict[str, list[str]] = field(default_factory=dict)
    forks: int = 0
    ids: set[str] = field(default_factory=set)

    def new_id(self) -> str:
        while True:
            rev = f"{self.rng.getrandbits(48):012x}"
            if rev not in self.ids and not rev.isdigit():
                self.ids.add(rev)
                return rev

    def add(self, down: tuple[str, ...], line: str, **extra: object) -> Node:
        node = Node(self.new_id(), down, line, **extra)  # type: ignore[arg-type]
        self.nodes.append(node)
        self.tips[line] = node.revision
        self.by_line.setdefault(line, []).append(node.revision)
        return node

    def plan_common(self, count: int) -> None:
        """The shared history: main line with forks and merges, labelled lines."""
        starts = {"audit": max(2, count * 12 // 100), "reporting": max(4, count * 30 // 100)}
        self.add((), "main")
        until_fork = self.rng.randint(15, 35)
        while len(self.nodes) < count:
            if self._step_label(starts):
                continue
            if until_fork <= 0 and count - len(self.nodes) >= 12:
                self.fork_block()
                until_fork = self.rng.randint(15, 35)
                continue
            self.add((self.tips["main"],), "main")
            until_fork -= 1

    def _step_label(self, starts: dict[str, int]) -> bool:
        """Start or extend a labelled line when it is due; True when one was added."""
        for label in LABELS:
            if label not in self.tips and len(self.nodes) >= starts[label]:
                self.add((), label, labels=(label,))
                return True
        started = [label for label in LABELS if label in self.tips]
        short = [label for label in started if len(self.by_line[label]) < 3]
        if short and self.rng.random() < 0.3:
            self.add((self.tips[short[0]],), short[0])
            return True
        if started and self.rng.random() < 0.08:
            line = self.rng.choice(started)
            self.add((self.tips[line],), line)
            return True
        return False

    def fork_block(self) -> None:
        """A branch point, 2 or 3 interleaved short branches, and their merge."""
        point = self.tips["main"]
        width = 3 if self.forks % 4 == 3 else 2
        self.forks += 1
        lengths = [self.rng.randint(1, 3) for _ in range(width)]
        order = [i for i, length in enumerate(lengths) for _ in range(length)]
        self.rng.shuffle(order)
        branch_tips = [point] * width
        for i in order:
            branch_tips[i] = self.add((branch_tips[i],), "main", in_fork=True).revision
        self.add(tuple(branch_tips), "main", merge=True)

    def add_chain(self, parent: str, count: int, side: str) -> list[Node]:
        """``count`` linear revisions on ``parent`` that only ``side`` has."""
        chain = []
        for _ in range(count):
            chain.append(self.add((parent,), "main", side=side))
            parent = chain[-1].revision
        return chain

    def add_dependencies(self, common: int) -> list[tuple[str, tuple[str, ...]]]:
        """Four ``depends_on`` across lines; returns (revision, depends_on) pairs."""
        position = {node.revision: i for i, node in enumerate(self.nodes)}
        final_tips = set(self.tips.values())
        plans = [
            (0.35, "main", ("audit",)),
            (0.55, "main", ("@reporting",)),
            (0.70, "audit", ("main",)),
            (0.85, "main", ("audit", "reporting")),
        ]
        added = []
        for fraction, line, targets in plans:
            node = self._dependant(int(common * fraction), common, line)
            if node is None:
                continue
            deps = tuple(
                self._target(t, position[node.revision], position, final_tips) for t in targets
            )
            if all(deps):
                node.depends_on = deps
                added.append((node.revision, deps))
        return added

    def _dependant(self, start: int, stop: int, line: str) -> Node | None:
        for node in self.nodes[start:stop]:
            if node.line == line and not (node.merge or node.labels or node.depends_on):
                return node
        return None

    def _target(
        self, target: str, before: int, position: dict[str, int], final_tips: set[str]
    ) -> str:
        """An older revision of line ``target`` (or its label), never a final head."""
        line = target.lstrip("@")
        older = [
            rev
            for rev in self.by_line.get(line, [])
            if position[rev] < before and rev not in final_tips
        ]
        if not older:
            return ""
        return line if target.startswith("@") else self.rng.choice(older)


def style_of(style: str, index: int) -> str:
    if style == "mixed":
        return ("plain", "annotated")[index % 2]
    return style


def merge_message(node: Node, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "merge heads"
    return "merge " + ", ".join(node.down)


@dataclass
class Clock:
    """Create dates: the whole history spans about four years, whatever its size."""

    now: datetime
    step_minutes: float

    def tick(self, rng: random.Random) -> datetime:
        minutes = self.step_minutes * rng.uniform(0.2, 1.8)
        self.now += timedelta(minutes=minutes, microseconds=rng.randint(0, 999999))
        return self.now


def write_migrations(
    versions: Path, nodes: list[Node], start: int, schema: Schema, style: str, clock: Clock
) -> datetime:
    """Render and write ``nodes``; returns the last create date."""
    for offset, node in enumerate(nodes):
        change: Change | None = None
        if node.merge:
            message = merge_message(node, schema.rng)
        elif node.labels:
            change = schema.create_table(prefix=f"{node.labels[0]}_")
            message = f"start {node.labels[0]} branch: {change.message}"
        else:
            change = schema.change(additive_only=node.in_fork or node.side != "common")
            message = change.message
        header = Header(
            node.revision,
            node.down,
            node.labels,
            node.depends_on,
            message,
            str(clock.tick(schema.rng)),
        )
        text = render(header, change, style_of(style, start + offset))
        (versions / f"{node.revision}_{slug(message)}.py").write_text(text)
    return clock.now


def git(repo: Path, *args: str, date: datetime | None = None) -> str:
    """Run git in ``repo`` with a pinned identity (and date); returns stdout."""
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(repo), **GIT_ENV}
    if date is not None:
        stamp = date.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        env |= {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str, date: datetime) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message, date=date)


def scaffold(repo: Path) -> None:
    """alembic.ini, env.py and script.py.mako as ``alembic init`` writes them."""
    template = Path(alembic.__file__).parent / "templates" / "generic"
    (repo / "migrations" / "versions").mkdir(parents=True)
    (repo / "alembic.ini").write_text(ALEMBIC_INI)
    (repo / ".gitignore").write_text(GITIGNORE)
    for name in ("env.py", "script.py.mako", "README"):
        shutil.copyfile(template / name, repo / "migrations" / name)


def batches(count: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (start, stop) ranges covering ``range(count)``."""
    parts = max(1, min(parts, count))
    bounds = [count * i // parts for i in range(parts + 1)]
    return list(itertools.pairwise(bounds))


@dataclass
class Plan:
    """The whole planned history, split by where each part is committed."""

    common: list[Node]
    main_only: list[Node]
    feature_only: list[Node]
    dependencies: list[tuple[str, tuple[str, ...]]]
    tips: dict[str, str]


def plan(revisions: int, feature: int, rng: random.Random) -> Plan:
    planner = Planner(rng)
    planner.plan_common(revisions - feature)
    fork_point = planner.tips["main"]
    main_only = planner.add_chain(fork_point, feature, "main")
    main_tip = planner.tips["main"]
    feature_only = planner.add_chain(fork_point, feature, "feature")
    planner.tips["main"] = main_tip
    common = planner.nodes[: revisions - feature]
    deps = planner.add_dependencies(revisions - feature)
    return Plan(common, main_only, feature_only, deps, dict(planner.tips))


def write_history(repo: Path, layout: Plan, style: str, rng: random.Random) -> dict[str, str]:
    """Commit the plan: batches on main, one commit per side; returns branch shas."""
    versions = repo / "migrations" / "versions"
    git(repo, "init", "-q", "-b", "main")
    scaffold(repo)
    commit_all(repo, "alembic init migrations", START_DATE)
    schema = Schema(rng)
    clock = Clock(START_DATE, FOUR_YEARS_MINUTES / (len(layout.common) + len(layout.main_only)))
    for start, stop in batches(len(layout.common), COMMON_BATCHES):
        date = write_migrations(versions, layout.common[start:stop], start, schema, style, clock)
        commit_all(repo, f"migrations {start + 1}-{stop}", date)
    fork_commit = git(repo, "rev-parse", "HEAD")
    side_start = len(layout.common)
    feature_schema, feature_clock = schema.fork(), Clock(clock.now, clock.step_minutes)
    end = write_migrations(versions, layout.main_only, side_start, schema, style, clock)
    commit_all(repo, f"main: {len(layout.main_only)} new revisions", end)
    git(repo, "checkout", "-q", "-b", "feature", fork_commit)
    end = write_migrations(
        versions, layout.feature_only, side_start, feature_schema, style, feature_clock
    )
    commit_all(repo, f"feature: {len(layout.feature_only)} new revisions", end)
    git(repo, "checkout", "-q", "main")
    set_up_origin(repo)
    return {ref: git(repo, "rev-parse", ref) for ref in ("main", "feature", "main~1")}


def set_up_origin(repo: Path) -> None:
    """``refs/remotes/origin/main`` at main, and main's upstream."""
    git(repo, "update-ref", "refs/remotes/origin/main", "refs/heads/main")
    git(repo, "config", "remote.origin.url", str(repo))
    git(repo, "config", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*")
    git(repo, "config", "branch.main.remote", "origin")
    git(repo, "config", "branch.main.merge", "refs/heads/main")


def expected_heads(layout: Plan, side: str) -> list[str]:
    chain = layout.main_only if side == "main" else layout.feature_only
    return sorted([chain[-1].revision, *(layout.tips[label] for label in LABELS)])


def alembic_heads(repo: Path) -> tuple[list[str], list[str], int]:
    """(heads, effective heads, revision count) of the checked-out tree, by Alembic."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    sys.dont_write_bytecode = True  # no __pycache__ in the generated tree
    script = ScriptDirectory.from_config(Config(str(repo / "alembic.ini")))
    revision_map = script.revision_map
    count = sum(1 for _ in script.walk_revisions())
    return sorted(revision_map.heads), sorted(revision_map._real_heads), count


def merged_heads(layout: Plan) -> list[str]:
    """Heads of main and feature together (what a merge would leave), by Alembic."""
    from alembic.script.revision import Revision, RevisionMap

    nodes = layout.common + layout.main_only + layout.feature_only

    def revisions() -> list[Revision]:
        return [
            Revision(
                n.revision,
                n.down or None,
                dependencies=n.depends_on or None,
                branch_labels=n.labels or None,
            )
            for n in nodes
        ]

    return sorted(RevisionMap(revisions).heads)


def verify(repo: Path, layout: Plan, revisions: int) -> dict[str, list[str]]:
    """Check both branches with Alembic's ScriptDirectory; raises on a surprise."""
    found: dict[str, list[str]] = {}
    for side in ("feature", "main"):
        git(repo, "checkout", "-q", side)
        heads, effective, count = alembic_heads(repo)
        want = expected_heads(layout, side)
        if heads != want or effective != want or count != revisions:
            raise SystemExit(
                f"{side}: alembic sees heads {heads}, effective {effective}, "
                f"{count} revisions; expected {want} and {revisions}"
            )
        found[side] = heads
    found["merged"] = merged_heads(layout)
    if len(found["merged"]) != len(LABELS) + 2:
        raise SystemExit(f"merged heads {found['merged']}: expected two unlabelled heads")
    return found


def write_manifest(
    repo: Path,
    params: dict[str, object],
    layout: Plan,
    heads: dict[str, list[str]],
    refs: dict[str, str],
    seconds: float,
) -> None:
    main_head = layout.main_only[-1]
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "params": params,
        "heads": heads,
        "labels": {label: layout.tips[label] for label in LABELS},
        "fork_point": layout.main_only[0].down[0],
        "merges": sum(1 for n in layout.common if n.merge),
        "depends_on": [[rev, list(deps)] for rev, deps in layout.dependencies],
        "main_head_file": next(
            str(p.relative_to(repo))
            for p in (repo / "migrations" / "versions").glob(f"{main_head.revision}_*.py")
        ),
        "refs": refs,
        "generation_seconds": round(seconds, 2),
    }
    (repo / ".git" / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def generate(
    out: Path, revisions: int, style: str, seed: int, feature: int, environments: int = 1
) -> dict[str, object]:
    """Create the repository at ``out``; returns the manifest."""
    started = time.perf_counter()
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not empty")
    least = 60 if environments == 1 else 40
    if revisions < least or not 1 <= feature <= revisions // 4 or environments < 1:
        raise SystemExit(
            f"need --revisions >= {least}, 1 <= --feature-revisions <= revisions/4 "
            "and --environments >= 1"
        )
    out.mkdir(parents=True, exist_ok=True)
    if environments > 1:
        return generate_monorepo(out, revisions, style, seed, feature, environments, started)
    rng = random.Random(seed)
    layout = plan(revisions, feature, rng)
    refs = write_history(out, layout, style, rng)
    heads = verify(out, layout, revisions)
    params = {"revisions": revisions, "style": style, "seed": seed, "feature_revisions": feature}
    write_manifest(out, params, layout, heads, refs, time.perf_counter() - started)
    return json.loads((out / ".git" / MANIFEST).read_text())


def generate_monorepo(
    out: Path,
    revisions: int,
    style: str,
    seed: int,
    feature: int,
    environments: int,
    started: float,
) -> dict[str, object]:
    """``environments`` services of ``revisions`` revisions each (see monorepo.py)."""
    from monorepo import manifest_fields, service

    services = [service(i, revisions, feature, seed) for i in range(environments)]
    fields = manifest_fields(out, services, style)
    params = {
        "revisions": revisions,
        "style": style,
        "seed": seed,
        "feature_revisions": feature,
        "environments": environments,
    }
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "params": params,
        **fields,
        "generation_seconds": round(time.perf_counter() - started, 2),
    }
    (out / ".git" / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--style", choices=("plain", "annotated", "mixed"), default="mixed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--feature-revisions", type=int, default=5)
    parser.add_argument(
        "--environments",
        type=int,
        default=1,
        help="more than 1: a monorepo of that many services, --revisions each (monorepo.py)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    manifest = generate(
        args.out.resolve(),
        args.revisions,
        args.style,
        args.seed,
        args.feature_revisions,
        args.environments,
    )
    heads = manifest["heads"]
    assert isinstance(heads, dict)
    if args.environments > 1:
        print(
            f"{args.out}: {args.environments} environments of {args.revisions} revisions in "
            f"{manifest['generation_seconds']} s; {len(heads['main'])} heads on main; "
            f"missing merge points in {' '.join(map(str, manifest['diverging']))}"  # type: ignore[call-overload]
        )
        return 0
    print(
        f"{args.out}: {args.revisions} revisions in {manifest['generation_seconds']} s; "
        f"heads on main {' '.join(heads['main'])}; merged with feature "
        f"{len(heads['merged'])} heads"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
