"""Named graph shapes, and the integrity problems build() collects in one pass."""

from __future__ import annotations

import random
from pathlib import PurePosixPath

import pytest

from mergeguard.graph.building import build
from mergeguard.graph.queries import exclusive_ancestries, fork_points, nearest_ancestors
from mergeguard.graph.revisions import RevisionLookupError
from mergeguard.model import MigrationScript, Span, Spans


def script(
    rev: str,
    down: str | tuple[str, ...] | None = None,
    *,
    labels: tuple[str, ...] = (),
    deps: tuple[str, ...] = (),
    path: str | None = None,
) -> MigrationScript:
    downs = () if down is None else ((down,) if isinstance(down, str) else down)
    return MigrationScript(
        PurePosixPath(path or f"versions/{rev}_x.py"),
        rev,
        downs,
        branch_labels=labels,
        depends_on=deps,
        spans=Spans(
            revision=Span(5), down_revision=Span(6), branch_labels=Span(7), depends_on=Span(8)
        ),
    )


SHAPES = {
    "linear": ([script("a"), script("b", "a"), script("c", "b")], ("c",), ("c",), ("a",)),
    "fork": ([script("a"), script("b", "a"), script("c", "a")], ("b", "c"), ("b", "c"), ("a",)),
    "diamond": (
        [script("a"), script("b", "a"), script("c", "a"), script("m", ("b", "c"))],
        ("m",),
        ("m",),
        ("a",),
    ),
    "labelled-branches": (
        [script("a"), script("b", "a", labels=("x",)), script("c", "a", labels=("y",))],
        ("b", "c"),
        ("b", "c"),
        ("a",),
    ),
    "multiple-bases": (
        [script("a", labels=("one",)), script("b", labels=("two",)), script("c", "b")],
        ("a", "c"),
        ("a", "c"),
        ("a", "b"),
    ),
    "depends-on-label": (
        [script("a", labels=("net",)), script("b"), script("c", "b", deps=("net",))],
        ("a", "c"),
        ("c",),
        ("a", "b"),
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_named_shapes(shape: str) -> None:
    scripts, heads, effective, bases = SHAPES[shape]
    graph, problems = build(scripts, "env")
    assert problems == ()
    assert (graph.heads, graph.effective_heads, graph.bases) == (heads, effective, bases)
    order = graph.topological()
    for revision in order:
        node = graph.nodes[revision]
        assert all(order.index(p) < order.index(revision) for p in node.down + node.deps)


def test_diamond_points_and_labels() -> None:
    graph, _ = build(SHAPES["diamond"][0])
    assert graph.branch_points == ("a",) and graph.merge_points == ("m",)
    labelled, _ = build(SHAPES["labelled-branches"][0])
    assert labelled.labels("b") == {"x"} and labelled.labels("a") == frozenset()
    assert labelled.resolve("x@head") == ("b",)


def test_dangling_parent_is_mg004_with_close_match_hint() -> None:
    graph, problems = build([script("abc123"), script("def456", "abc124")], "env")
    [problem] = problems
    assert problem.code == "MG004" and problem.environment == "env"
    assert "abc124" in problem.message and "did you mean 'abc123'" in (problem.hint or "")
    assert problem.location is not None and problem.location.line == 6
    assert graph.heads == ("abc123", "def456")


def test_file_name_given_instead_of_id() -> None:
    _, problems = build(
        [script("abc123", path="versions/001_init.py"), script("def456", "001_init")]
    )
    assert "looks like a file name" in (problems[0].hint or "")
    assert "'abc123'" in (problems[0].hint or "")


def test_partial_id_in_down_revision_hint() -> None:
    _, problems = build([script("abc123456789"), script("def456", "abc1")])
    assert "full id" in (problems[0].hint or "")


def test_missing_dependency() -> None:
    _, problems = build([script("a"), script("b", "a", deps=("nowhere",))])
    assert [p.code for p in problems] == ["MG004"]
    assert problems[0].location is not None and problems[0].location.line == 8


def test_cycle_is_reported_once_with_members() -> None:
    graph, problems = build([script("a", "c"), script("b", "a"), script("c", "b"), script("d")])
    cycles = [p for p in problems if p.code == "MG005"]
    assert len(cycles) == 1 and set(cycles[0].revisions) == {"a", "b", "c"}
    assert graph.has_cycles
    assert set(graph.topological()) == {"a", "b", "c", "d"}


def test_self_loop_and_dependency_cycle() -> None:
    _, problems = build([script("a", "a")])
    assert [p.code for p in problems] == ["MG005"]
    _, problems = build([script("a", deps=("b",)), script("b", "a")])
    assert [p.code for p in problems] == ["MG005"]


def test_duplicate_ids_name_both_files_and_keep_the_later() -> None:
    graph, problems = build([script("a", path="v/1.py"), script("a", path="v/2.py")])
    [problem] = problems
    assert problem.code == "MG003" and "v/1.py" in problem.message and "v/2.py" in problem.message
    assert str(graph.script("a").path) == "v/2.py"


def test_label_conflicts() -> None:
    _, problems = build([script("a", labels=("x",)), script("b", "a", labels=("x",))])
    assert [p.code for p in problems] == ["MG006"]
    _, problems = build([script("a", labels=("b",)), script("b", "a")])
    assert [p.code for p in problems] == ["MG006"]


@pytest.mark.parametrize("bad", ["a-b", "a@b", "a+1", "x:y", ""])
def test_invalid_ids(bad: str) -> None:
    _, problems = build([script(bad)])
    assert [p.code for p in problems] == ["MG007"]


def test_all_problems_reported_in_one_run() -> None:
    _, problems = build(
        [
            script("x", "zzz"),
            script("a"),
            script("a"),
            script("b-1", "b-1"),
            script("c", labels=("c",)),
        ]
    )
    assert {p.code for p in problems} == {"MG003", "MG004", "MG005", "MG006", "MG007"}


def test_resolution_errors() -> None:
    graph, _ = build(SHAPES["fork"][0])
    with pytest.raises(RevisionLookupError, match="Multiple heads"):
        graph.resolve("head")
    with pytest.raises(RevisionLookupError, match="No such revision"):
        graph.resolve("nope")
    assert graph.resolve("heads") == ("b", "c") and graph.resolve("base") == ()


def test_deep_history_needs_no_recursion() -> None:
    scripts = [script("r0")] + [script(f"r{i}", f"r{i - 1}") for i in range(1, 5000)]
    graph, problems = build(scripts)
    assert problems == () and graph.heads == ("r4999",) and len(graph.topological()) == 5000


def _random_history(seed: int) -> list[MigrationScript]:
    """A random DAG in a shuffled load order (as file names shuffle ids)."""
    rng = random.Random(seed)
    revisions = [f"r{i}" for i in range(rng.randint(1, 40))]
    scripts = [
        script(rev, tuple(rng.sample(revisions[:i], min(i, rng.choice((1, 1, 1, 2, 3))))) or None)
        for i, rev in enumerate(revisions)
    ]
    rng.shuffle(scripts)
    return scripts


@pytest.mark.parametrize("seed", range(60))
def test_fork_points_and_exclusive_ancestries_match_their_definitions(seed: int) -> None:
    """The walks that stop a few revisions past the fork answer what the whole
    ancestries answer: common ancestors with no common child, and per tip
    what no other tip reaches."""
    graph, _ = build(_random_history(seed))
    rng = random.Random(seed)
    for _ in range(10):
        tips = tuple(rng.sample(graph.order, rng.randint(1, min(4, len(graph.order)))))
        ancestries = [graph.ancestors([t], dependencies=False) for t in tips]
        common = set.intersection(*ancestries)
        nearest = tuple(
            r for r in graph.order if r in common and not common & set(graph.nodes[r].children)
        )
        assert fork_points(graph, tips) == nearest
        exclusive = [a.difference(*(o for o in ancestries if o is not a)) for a in ancestries]
        assert exclusive_ancestries(graph, tips) == exclusive


@pytest.mark.parametrize("seed", range(30))
def test_topological_order_puts_the_first_ready_revision_first(seed: int) -> None:
    """Kahn's order with load order breaking ties: every revision after its
    parents, and no revision ready earlier in load order left waiting."""
    graph, _ = build(_random_history(seed))
    order = graph.topological()
    assert sorted(order) == sorted(graph.order)
    position = {r: i for i, r in enumerate(graph.order)}
    placed: set[str] = set()
    for revision in order:
        assert set(graph.nodes[revision].down) <= placed
        ready = [r for r in graph.order if r not in placed and set(graph.nodes[r].down) <= placed]
        assert position[revision] == min(position[r] for r in ready)
        placed.add(revision)


def test_equal_scripts_share_one_graph_and_other_scripts_do_not() -> None:
    scripts = [script("a"), script("b", "a")]
    graph, problems = build(scripts, "env")
    assert build(list(scripts), "env")[0] is graph
    assert build(scripts, "other")[0] is not graph
    moved = [script("a"), script("b", "a")]  # equal values, other objects: built anew, equal
    again, again_problems = build(moved, "env")
    assert again is not graph and again.heads == graph.heads and again_problems == problems


def test_nearest_ancestors_are_the_last_ancestors_in_upgrade_order() -> None:
    """The bounded walk (schema rules' recent history) finds what filtering
    every ancestor by the topological order finds, on random graphs: forks,
    merges, dependencies, parents later in load order, and cycles."""
    rng = random.Random(5)
    for _ in range(2000):
        n = rng.randint(1, 30)
        ids = [f"r{i}" for i in range(n)]
        scripts = []
        for i, rev in enumerate(ids):
            parents = tuple(rng.sample(ids[:i], min(rng.choice([0, 1, 1, 2]), i)))
            if i and rng.random() < 0.05:
                parents = (rng.choice(ids),)  # later in load order, or a cycle
            deps = (rng.choice(ids),) if rng.random() < 0.1 else ()
            scripts.append(script(rev, parents or None, deps=deps))
        rng.shuffle(scripts)
        graph, _ = build(scripts)
        tips = rng.sample(ids, min(n, rng.randint(1, 3)))
        skip = set(rng.sample(ids, min(n, rng.randint(0, 3))))
        count = rng.randint(1, 10)
        below = graph.ancestors(tips, dependencies=False).difference(tips, skip)
        expected = [r for r in graph.topological() if r in below][-count:]
        assert nearest_ancestors(graph, tips, count, skip) == expected
