"""``graph.deployed.upgrade_order`` against Alembic's own ``_upgrade_revs``.

Hypothesis draws histories (merges, several bases, labels, depends_on on ids
and labels, a load order unlike the history's) and a database state (an
antichain of applied revisions, in any row order); what mergeguard says
``alembic upgrade heads`` runs must be what Alembic's ``RevisionMap`` yields,
in the same order.  ``classify`` is checked on the states it names.
"""

from __future__ import annotations

import warnings

import pytest
from alembic.script.revision import RevisionMap
from conftest import RepoBuilder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_graph_oracle import SETTINGS, Rev, alembic_map, histories, our_graph

from mergeguard.graph.building import build
from mergeguard.graph.deployed import applied_revisions, classify, upgrade_order
from mergeguard.model import DatabaseReading, MigrationScript


def alembic_upgrade(rmap: RevisionMap, current: tuple[str, ...]) -> tuple[str, ...]:
    """What ``ScriptDirectory._upgrade_revs("heads", current)`` runs, in order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        revs = rmap.iterate_revisions("heads", current, implicit_base=True)
        return tuple(r.revision for r in reversed(list(revs)))


@st.composite
def states(draw: st.DrawFn) -> tuple[list[Rev], tuple[str, ...]]:
    """A history and the rows of a version table Alembic could have left:
    revisions none of which is an ancestor of another (depends_on included)."""
    revs = draw(histories())
    graph = our_graph(revs)
    picked = draw(st.lists(st.sampled_from([r.revision for r in revs]), max_size=4, unique=True))
    rows = [r for r in picked if not any(o != r and r in graph.ancestors([o]) for o in picked)]
    return revs, tuple(draw(st.permutations(rows)))


@SETTINGS
@given(states())
def test_upgrade_order_is_alembics(state: tuple[list[Rev], tuple[str, ...]]) -> None:
    revs, current = state
    expected = alembic_upgrade(alembic_map(revs), current)
    assert upgrade_order(our_graph(revs), current) == expected


def test_the_states_are_not_vacuous() -> None:
    """Several rows, rows in the middle of a branch, depends_on and merges all occur."""
    seen = {"several rows": False, "middle": False, "dep": False, "merge pending": False}

    @SETTINGS
    @given(states())
    def look(state: tuple[list[Rev], tuple[str, ...]]) -> None:
        revs, current = state
        graph = our_graph(revs)
        pending = upgrade_order(graph, current)
        seen["several rows"] |= len(current) > 1
        seen["middle"] |= any(r not in graph.heads for r in current) and bool(pending)
        seen["dep"] |= any(r.deps for r in revs if r.revision in pending)
        seen["merge pending"] |= any(len(r.down) > 1 for r in revs if r.revision in pending)

    look()
    assert all(seen.values()), seen


def script(revision: str, *down: str, deps: tuple[str, ...] = ()) -> MigrationScript:
    from pathlib import PurePosixPath

    return MigrationScript(PurePosixPath(f"v/{revision}.py"), revision, down, depends_on=deps)


DIAMOND = [
    script("a"),
    script("b", "a"),
    script("c", "a"),
    script("m", "b", "c"),
    script("d", "m"),
]


def test_pending_across_a_merge_point_in_alembics_order() -> None:
    graph, _ = build(DIAMOND, "alembic")
    assert (
        upgrade_order(graph, ())
        == ("a", "c", "b", "m", "d")
        == alembic_upgrade(
            alembic_map([Rev(s.revision, s.down_revisions, (), ()) for s in DIAMOND]), ()
        )
    )
    assert upgrade_order(graph, ("b",)) == ("c", "m", "d")
    assert upgrade_order(graph, ("d",)) == ()
    assert applied_revisions(graph, ("m", "gone")) == {"a", "b", "c", "m"}


def test_classify_names_each_state() -> None:
    graph, _ = build(DIAMOND, "alembic")

    def state(current: tuple[str, ...] | None, error: str | None = None) -> object:
        reading = DatabaseReading("db", "sqlite:///x", "alembic", current=current, error=error)
        return classify(graph, reading)

    up = state(("d",))
    assert (up.state, up.pending) == ("up-to-date", ())  # type: ignore[attr-defined]
    behind = state(("b", "c"))
    assert (behind.state, behind.pending) == ("behind", ("m", "d"))  # type: ignore[attr-defined]
    empty = state(None)
    assert (empty.state, empty.pending) == ("empty", ("a", "c", "b", "m", "d"))  # type: ignore[attr-defined]
    assert state(()).state == "empty"  # type: ignore[attr-defined]
    assert state(None, error="refused").state == "unreachable"  # type: ignore[attr-defined]
    reading = DatabaseReading(
        "db", "u", "alembic", current=("d", "x9"), refs=(("x9", ("origin/feature-x",)),)
    )
    stranded = classify(graph, reading)
    assert (stranded.state, stranded.stranded, stranded.refs) == (
        "stranded",
        ("x9",),
        ("origin/feature-x",),
    )


def test_a_cyclic_graph_still_ends() -> None:
    graph, problems = build([script("a", "b"), script("b", "a"), script("c")], "alembic")
    assert problems  # MG005
    # the cycle has no head: only c is reachable from one (Alembic refuses the map)
    assert upgrade_order(graph, ()) == ("c",)


# -- the real ScriptDirectory: files on disk, Alembic's own load order -----------------


@st.composite
def files_and_state(draw: st.DrawFn) -> tuple[list[tuple[str, Rev]], tuple[str, ...]]:
    """A history written as files whose names sort unlike the history (so the
    revision map's key order is the directory's), and a database state."""
    revs, current = draw(states())
    prefixes = draw(
        st.lists(
            st.text("abcxyz019", min_size=1, max_size=3),
            min_size=len(revs),
            max_size=len(revs),
            unique=True,
        )
    )
    return [(f"{p}_{r.revision}.py", r) for p, r in zip(prefixes, revs, strict=True)], current


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(files_and_state())
def test_upgrade_order_is_the_script_directorys_on_real_files(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[list[tuple[str, Rev]], tuple[str, ...]]
) -> None:
    """mergeguard reads the files as a checkout has them; Alembic's
    ``ScriptDirectory`` loads the same files: same map order, same upgrade."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from mergeguard.app.options import Options
    from mergeguard.app.pipeline import read

    files, current = case
    repo = RepoBuilder(tmp_path_factory.mktemp("order") / "repo")
    repo.init_alembic()
    for name, rev in files:
        repo.migration(
            rev.revision,
            rev.down or None,
            filename=name,
            branch_labels=rev.labels or None,
            depends_on=rev.deps or None,
        )
    [environment], _, _ = read(Options(repo.root), None)
    graph = environment.graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        script = ScriptDirectory.from_config(AlembicConfig(str(repo.root / "alembic.ini")))
        keys = [k for k in script.revision_map._revision_map if isinstance(k, str)]
        expected = tuple(step.revision.revision for step in script._upgrade_revs("heads", current))
    assert list(graph.order) == [k for k in keys if k in graph]  # labels are keys too
    assert upgrade_order(graph, current) == expected
