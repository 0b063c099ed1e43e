"""mergeguard's graph against Alembic's own RevisionMap, on random graphs.

Hypothesis builds acyclic histories with merges, several bases, branch labels
and depends_on (on ids and on labels); for each, heads, effective heads,
bases, propagated branch labels and identifier resolution must equal what
``alembic.script.revision.RevisionMap`` computes from the same facts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath

import pytest
from alembic.script.revision import Revision, RevisionError, RevisionMap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mergeguard.graph.building import build
from mergeguard.graph.revisions import RevisionLookupError
from mergeguard.model import MigrationScript

# ids share prefixes on purpose, so partial-id resolution has ambiguity to get right
ID_POOL = [
    "ab12",
    "ab13",
    "abc9",
    "b001",
    "b002",
    "c0ffee",
    "c0ffef",
    "d4",
    "e55e",
    "f00d",
    "1a2b3c4d5e6f",
    "1a2b3c4d5e70",
    "9999",
    "feedbeef",
    "z1",
    "zz22",
]
LABELS = ["expand", "contract", "audit", "feature_x", "lbl"]


@dataclass(frozen=True)
class Rev:
    revision: str
    down: tuple[str, ...]
    deps: tuple[str, ...]
    labels: tuple[str, ...]


@st.composite
def histories(draw: st.DrawFn) -> list[Rev]:
    count = draw(st.integers(min_value=1, max_value=len(ID_POOL)))
    ids = draw(st.permutations(ID_POOL))[:count]
    free_labels = list(LABELS)
    revs: list[Rev] = []
    labels_so_far: list[str] = []
    for i, revision in enumerate(ids):
        earlier = ids[:i]
        parents: tuple[str, ...] = ()
        if earlier and draw(st.integers(0, 5)) > 0:
            parents = tuple(
                draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=3, unique=True))
            )
        deps: tuple[str, ...] = ()
        if earlier and draw(st.integers(0, 4)) == 0:
            deps = tuple(
                draw(
                    st.lists(
                        st.sampled_from(earlier + labels_so_far),
                        min_size=1,
                        max_size=2,
                        unique=True,
                    )
                )
            )
        labels: tuple[str, ...] = ()
        if free_labels and draw(st.integers(0, 3)) == 0:
            labels = (free_labels.pop(draw(st.integers(0, len(free_labels) - 1))),)
            labels_so_far.extend(labels)
        revs.append(Rev(revision, parents, deps, labels))
    order = draw(st.permutations(revs))  # the load order is the file order, not the history's
    return list(order)


def alembic_map(revs: list[Rev]) -> RevisionMap:
    def generate() -> list[Revision]:
        return [
            Revision(
                r.revision,
                r.down or None,
                dependencies=r.deps or None,
                branch_labels=r.labels or None,
            )
            for r in revs
        ]

    return RevisionMap(generate)


def our_graph(revs: list[Rev]):  # type: ignore[no-untyped-def]
    scripts = [
        MigrationScript(
            PurePosixPath(f"v/{r.revision}.py"),
            r.revision,
            r.down,
            branch_labels=r.labels,
            depends_on=r.deps,
        )
        for r in revs
    ]
    graph, problems = build(scripts, "alembic")
    assert problems == ()
    return graph


def alembic_resolve(rmap: RevisionMap, ident: str) -> tuple[str, ...] | str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(r.revision for r in rmap.get_revisions(ident) if r is not None)
    except RevisionError:
        return "error"


def our_resolve(graph, ident: str) -> tuple[str, ...] | str:  # type: ignore[no-untyped-def]
    try:
        return graph.resolve(ident)
    except RevisionLookupError:
        return "error"


def identifiers(revs: list[Rev]) -> list[str]:
    labels = [label for r in revs for label in r.labels]
    prefixes = sorted({r.revision[:n] for r in revs for n in (2, 3, 4, 5)})
    return (
        ["heads", "head", "base"]
        + prefixes
        + labels
        + [f"{label}@head" for label in labels]
        + [f"{label}@heads" for label in labels]
        + [f"{label}@{r.revision}" for label in labels[:2] for r in revs[:3]]
    )


SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(histories())
def test_heads_bases_and_labels_match_alembic(revs: list[Rev]) -> None:
    rmap = alembic_map(revs)
    graph = our_graph(revs)
    assert graph.heads == rmap.heads
    assert graph.effective_heads == rmap._real_heads
    assert graph.bases == rmap.bases
    for r in revs:
        assert graph.labels(r.revision) == rmap.get_revision(r.revision).branch_labels, r.revision


@SETTINGS
@given(histories())
def test_identifier_resolution_matches_alembic(revs: list[Rev]) -> None:
    rmap = alembic_map(revs)
    graph = our_graph(revs)
    for ident in identifiers(revs):
        expected = alembic_resolve(rmap, ident)
        assert our_resolve(graph, ident) == expected, ident


def test_oracle_is_not_vacuous() -> None:
    """The strategy really produces merges, several bases, labels and depends_on."""
    seen = {"merge": False, "bases": False, "label": False, "dep_on_label": False}

    @settings(max_examples=200, deadline=None)
    @given(histories())
    def look(revs: list[Rev]) -> None:
        labels = {label for r in revs for label in r.labels}
        seen["merge"] |= any(len(r.down) > 1 for r in revs)
        seen["bases"] |= sum(1 for r in revs if not r.down) > 1
        seen["label"] |= bool(labels)
        seen["dep_on_label"] |= any(d in labels for r in revs for d in r.deps)

    look()
    assert all(seen.values()), seen


@pytest.mark.parametrize("labelled_first", [True, False])
def test_label_walks_back_to_previous_branch_point(labelled_first: bool) -> None:
    """The documented shape: a label on a chain reaches back to the branch point."""
    revs = [
        Rev("a1", (), (), ()),
        Rev("b1", ("a1",), (), ()),
        Rev("c1", ("b1",), (), ()),
        Rev("c2", ("b1",), (), ()),
        Rev("d1", ("c1",), (), ()),
        Rev("e1", ("d1",), (), ("feature_x",)),
    ]
    if not labelled_first:
        revs.reverse()
    graph = our_graph(revs)
    rmap = alembic_map(revs)
    assert graph.labels("c1") == {"feature_x"} == rmap.get_revision("c1").branch_labels
    assert graph.labels("b1") == frozenset() == rmap.get_revision("b1").branch_labels
