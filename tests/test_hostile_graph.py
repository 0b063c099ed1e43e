"""Hostile graphs and hostile caches (issue 10, items 1 and 7).

Every case runs mergeguard as a subprocess with a time and memory limit and
asserts a bounded run, an exit code in 0/1/3, no traceback or internal
error, and the diagnostic.  A property test builds arbitrary graphs (cycles,
revisions naming themselves, labels everywhere) in-process and walks them
with every walk the rules and reports use, under an alarm.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from types import FrameType

import pytest
from bounded import bounded_mergeguard
from conftest import RepoBuilder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from mergeguard.graph import cache
from mergeguard.graph.building import build
from mergeguard.graph.cache import document_text
from mergeguard.graph.environments import EnvironmentRead
from mergeguard.graph.queries import conflict_groups, fork_points
from mergeguard.graph.revisions import RevisionLookupError
from mergeguard.model import Environment, MigrationScript
from mergeguard.report import graphviews
from mergeguard.report.lanes import layout


def mergeguard(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """(exit code, stdout+stderr) of a bounded run, with the parse cache on."""
    result = bounded_mergeguard(root, *args, env={**(env or {}), "MERGEGUARD_NO_CACHE": ""})
    return result.returncode, result.stdout + result.stderr


# -- item 1: endless loops in the graph -------------------------------------------------


def _self_parent(repo: RepoBuilder) -> None:
    repo.migration("a1", None)
    repo.migration("b2", "b2", branch_labels=("x",))
    repo.commit("b2 names itself")


def _labelled_cycle(repo: RepoBuilder) -> None:
    repo.migration("a1", None)
    repo.migration("b2", "c3", branch_labels=("x",))
    repo.migration("c3", "b2")
    repo.commit("b2 and c3 follow each other")


def _redeclared_onto_itself(repo: RepoBuilder) -> None:
    """feature re-declares b2 onto itself; main adds a labelled child of b2."""
    repo.migration("a1", None)
    repo.migration("b2", "a1")
    repo.commit("base")
    repo.branch("feature")
    repo.migration("b2", "b2")
    repo.commit("b2 names itself")
    repo.checkout("main")
    repo.migration("c3", "b2", branch_labels=("lab",))
    repo.commit("labelled c3")
    repo.checkout("feature")


GRAPHS = {
    "self-parent-with-label": (_self_parent, "revision b2 names itself in its down_revision"),
    "labelled-two-revision-cycle": (
        _labelled_cycle,
        "revisions b2 -> c3 form a cycle through down_revision",
    ),
}


@pytest.mark.parametrize("command", [["heads"], ["graph"], ["check"]], ids=" ".join)
@pytest.mark.parametrize("shape", list(GRAPHS))
def test_cyclic_histories_end_with_mg005(repo: RepoBuilder, shape: str, command: list[str]) -> None:
    make, message = GRAPHS[shape]
    repo.init_alembic()
    make(repo)
    code, output = mergeguard(repo.root, *command)
    assert code == 1
    assert "MG005" in output and message in output
    assert "b2_migration.py:14:1" in output  # the down_revision line of the file


@pytest.mark.parametrize(
    "command",
    [
        ["check", "main..feature"],
        ["check", "main..feature", "--format", "json"],
        ["graph", "main..feature"],
        ["graph", "main..feature", "--format", "mermaid"],
        ["fix", "--merge", "--dry-run", "main..feature"],
        ["fix", "--rebase", "--dry-run", "main..feature"],
    ],
    ids=" ".join,
)
def test_a_range_redeclaring_a_revision_onto_itself_ends(
    repo: RepoBuilder, command: list[str]
) -> None:
    repo.init_alembic()
    _redeclared_onto_itself(repo)
    code, output = mergeguard(repo.root, *command)
    if command[0] in ("check", "graph"):
        assert code == 1
    if command[0] == "check" or command == ["graph", "main..feature"]:
        assert "revision b2 names itself in its down_revision" in output
    if "mermaid" in command:
        assert "e0_c3 --> e0_b2" in output  # drawn, not stuck
    if command[0] == "check":
        assert "MG103" in output  # and it re-points a published revision
    if command[0] == "fix":
        assert "nothing to fix" in output


def test_no_redundant_merge_claims_on_a_cycle(repo: RepoBuilder) -> None:
    """On a cycle every revision is an ancestor of every other: MG106's
    reasoning would blame merges for what MG005 reports."""
    repo.init_alembic()
    repo.migration("a1", None)
    repo.commit("base")
    repo.branch("feature")
    repo.migration("b2", ("b2", "a1"), branch_labels=("x",))
    repo.migration("c3", ("d4", "a1"))
    repo.migration("d4", ("c3", "a1"))
    repo.commit("merges of themselves")
    code, output = mergeguard(repo.root, "check", "main..feature")
    assert code == 1
    assert "revision b2 names itself in its down_revision" in output
    assert "revisions c3 -> d4 form a cycle" in output
    assert "MG106" not in output


# -- every walk terminates on any graph (property) --------------------------------------

IDS = ("a", "b", "c", "d", "e", "f")


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise in the running walk if it takes longer than ``seconds`` (a loop
    that never ends fails the test instead of hanging the suite)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"a graph walk ran longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _scripts() -> st.SearchStrategy[list[MigrationScript]]:
    names = st.sampled_from(IDS + ("x", "y"))  # x and y: labels, or missing revisions
    one = st.builds(
        lambda rev, down, labels, deps: MigrationScript(
            PurePosixPath(f"versions/{rev}.py"),
            rev,
            tuple(dict.fromkeys(down)),
            branch_labels=tuple(dict.fromkeys(labels)),
            depends_on=tuple(dict.fromkeys(deps)),
        ),
        st.sampled_from(IDS),
        st.lists(names, max_size=3),
        st.lists(st.sampled_from(("x", "y", "z")), max_size=2),
        st.lists(names, max_size=2),
    )
    return st.lists(one, min_size=1, max_size=8)


def _has_cycle(scripts: list[MigrationScript]) -> bool:
    """An independent oracle: depth-first search for a back edge (Alembic's
    later file wins, labels in depends_on resolve to their owner)."""
    by_id: dict[str, MigrationScript] = {}
    for script in scripts:  # a later file replaces an earlier one, and moves to the end
        by_id.pop(script.revision, None)
        by_id[script.revision] = script
    owners: dict[str, str] = {}
    for s in by_id.values():
        for label in s.branch_labels:
            if label not in by_id:
                owners.setdefault(label, s.revision)
    edges = {
        r: {p for p in s.down_revisions if p in by_id}
        | {d if d in by_id else owners[d] for d in s.depends_on if d in by_id or d in owners}
        for r, s in by_id.items()
    }
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        state[node] = 1
        for parent in edges[node]:
            if state.get(parent) == 1 or (parent not in state and visit(parent)):
                return True
        state[node] = 2
        return False

    return any(visit(r) for r in by_id if r not in state)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scripts())
def test_every_walk_ends_on_any_graph(scripts: list[MigrationScript]) -> None:
    with deadline(5):
        graph, problems = build(scripts)
        graph.topological()
        for revision in graph.order:
            graph.ancestors([revision])
            graph.descendants([revision])
        for identifier in (*IDS, "x", "y", "heads", "head", "x@head", "y@heads", "a@b"):
            try:
                graph.resolve(identifier)
            except RevisionLookupError:
                pass
        layout(graph)
        for heads in conflict_groups(graph).values():
            fork_points(graph, heads)
        read = EnvironmentRead(Environment("alembic", ()), "worktree", tuple(scripts), ())
        graphviews.dot([read]), graphviews.mermaid([read])
        graphviews.graph_document([read], read.diagnostics, limit=3)
        Console(file=io.StringIO(), width=60).print(graphviews.tree(read))
    assert sorted(graph.topological()) == sorted(graph.order)
    cycle_reported = any(p.code == "MG005" for p in problems)
    assert cycle_reported == _has_cycle(scripts) == graph.has_cycles
    assert all(p.location is not None for p in problems if p.code == "MG005")


def test_the_deadline_catches_a_loop() -> None:
    """The guard of the property test works (else the test could not fail)."""
    with pytest.raises(TimeoutError), deadline(0.2):
        while True:
            pass


def test_depending_on_its_own_label_is_a_cycle() -> None:
    """Alembic: "Dependency cycle is detected in revisions (a)"."""
    graph, problems = build(
        [
            MigrationScript(PurePosixPath("versions/a.py"), "a", ()),
            MigrationScript(
                PurePosixPath("versions/b.py"), "b", ("a",), branch_labels=("x",), depends_on=("x",)
            ),
        ]
    )
    [problem] = problems
    assert problem.code == "MG005"
    assert (
        problem.message
        == "revision b names itself in its depends_on (through its branch label 'x')"
    )
    assert graph.cyclic == {"b"}
    assert graph.topological() == ("a", "b")


# -- item 7: the parse cache trusts nothing it reads ------------------------------------


def _cached_repo(repo: RepoBuilder) -> tuple[Path, dict[str, str]]:
    """a1 <- b2 (labelled x), committed, with the cache filled by one run:
    (the cache file, revision -> blob id)."""
    repo.init_alembic()
    repo.migration("a1", None)
    repo.migration("b2", "a1", branch_labels=("x",))
    repo.commit("two revisions")
    code, _ = mergeguard(repo.root, "check", "--format", "json")
    assert code == 0
    blobs = {
        rev: repo.git("rev-parse", f"HEAD:migrations/versions/{rev}_migration.py")
        for rev in ("a1", "b2")
    }
    return repo.root / ".git" / "mergeguard" / "cache-v1.json", blobs


def _forget_records(cache_file: Path) -> None:
    """Remove the environment records (each holds its scripts' rows): the next
    run reads the rows of the cache file, as a run on a listing never recorded does."""
    shutil.rmtree(cache_file.parent / "records")


def _entries(cache_file: Path) -> tuple[str, dict[str, list[object]]]:
    header, body = cache_file.read_text().split("\n")
    return json.loads(header)["namespace"], json.loads(body)


def _heads(repo: RepoBuilder) -> tuple[list[object], str]:
    code, output = mergeguard(repo.root, "heads", "--format", "json")
    document = json.loads(output[: output.rindex("}") + 1])
    return document["environments"][0]["heads"], output


def test_a_forged_row_naming_itself_as_parent_ends_with_mg005(repo: RepoBuilder) -> None:
    cache_file, blobs = _cached_repo(repo)
    namespace, entries = _entries(cache_file)
    row = entries["s:" + blobs["b2"]][2]
    assert isinstance(row, list) and row[1] == ["a1"]
    row[1] = ["b2"]  # well-formed, digest recomputed: only the graph can catch it
    cache_file.write_text(document_text(namespace, entries))
    _forget_records(cache_file)
    for command in (["heads"], ["graph"], ["check"]):
        code, output = mergeguard(repo.root, *command)
        assert code == 1 and "revision b2 names itself in its down_revision" in output


@pytest.mark.parametrize(
    "forgery", ["another-blob", "another-reader", "bad-line", "huge-id", "many-parents"]
)
def test_a_row_is_used_only_for_what_it_claims(repo: RepoBuilder, forgery: str) -> None:
    cache_file, blobs = _cached_repo(repo)
    namespace, entries = _entries(cache_file)
    a1, b2 = "s:" + blobs["a1"], "s:" + blobs["b2"]
    if forgery == "another-blob":  # b2's row filed under a1's blob: a1 would vanish
        entries[a1] = entries[b2]
    elif forgery == "another-reader":  # a row of another reader version, saying "b2"
        entries[a1] = [blobs["a1"], "facts-0", entries[b2][2]]
    else:
        row = entries[b2][2]
        assert isinstance(row, list)
        if forgery == "bad-line":
            row[5] = [-7] * 14  # every header line at -7
        elif forgery == "huge-id":
            row[0] = "b" * 100_000  # longer than any id the reader accepts
        else:
            row[1] = ["a1"] * 20_000
    cache_file.write_text(document_text(namespace, entries))
    _forget_records(cache_file)
    heads, output = _heads(repo)
    assert heads == ["b2"], output
    assert "parse cache" not in output  # a well-formed file: the rows are re-read quietly
    code, output = mergeguard(repo.root, "graph", "--format", "json")
    assert '"a1"' in output and "-7" not in output and "bbbbbbbb" not in output


def test_an_operation_row_of_the_wrong_shape_is_re_read(repo: RepoBuilder) -> None:
    """Both branches add column t.x: MG201 needs the operations, cached by blob."""
    repo.init_alembic()
    repo.migration("a1", None)
    repo.commit("base")
    repo.branch("feature")
    repo.migration("f1", "a1", upgrade="op.add_column('t', sa.Column('x', sa.Integer()))")
    repo.commit("feature adds t.x")
    repo.checkout("main")
    repo.migration("m1", "a1", upgrade="op.add_column('t', sa.Column('x', sa.Integer()))")
    repo.commit("main adds t.x")
    code, first = mergeguard(repo.root, "check", "main..feature")
    assert code == 1 and "t.x" in first
    cache_file = repo.root / ".git" / "mergeguard" / "operations-v1.json"  # their own file
    namespace, entries = _entries(cache_file)
    forged = [["drop_table\n::error::x", "t", "x", None, 0, 0, False, [], [], "", "evil"]]
    operations = [k for k in entries if k.startswith("o")]
    assert operations
    for key in operations:
        value = entries[key][2]
        assert isinstance(value, dict)
        value["operations"] = forged
    cache_file.write_text(document_text(namespace, entries))
    code, again = mergeguard(repo.root, "check", "main..feature")
    assert code == 1 and again == first
    assert "::error::" not in again


def test_a_damaged_cache_is_reported_once_and_rebuilt(repo: RepoBuilder) -> None:
    cache_file, _ = _cached_repo(repo)
    text = cache_file.read_text()
    cache_file.write_text(text.replace('["a1",[]', '["zz",[]'))  # a wrong revision, old digest
    _forget_records(cache_file)
    heads, output = _heads(repo)
    assert heads == ["b2"]
    assert output.count("is damaged (its digest does not match its entries); it is rebuilt") == 1
    assert '["zz"' not in cache_file.read_text()
    _, output = _heads(repo)
    assert "parse cache" not in output


@pytest.mark.parametrize("kind", ["fifo", "symlink-to-dev-zero", "directory", "oversized"])
def test_a_cache_path_that_is_no_regular_file_is_reported_once(
    repo: RepoBuilder, kind: str
) -> None:
    cache_file, _ = _cached_repo(repo)
    cache_file.unlink()
    if kind == "fifo":
        os.mkfifo(cache_file)
    elif kind == "symlink-to-dev-zero":
        cache_file.symlink_to("/dev/zero")
    elif kind == "directory":
        cache_file.mkdir()
    else:
        with cache_file.open("wb") as sparse:
            sparse.truncate(cache.MAX_FILE_BYTES + 1)
    repo.migration("c3", "b2")  # something new to cache
    repo.commit("c3")
    code, output = mergeguard(repo.root, "check", "HEAD~1..HEAD")
    assert code == 0
    why = {
        "fifo": "is a FIFO, not a regular file",
        "symlink-to-dev-zero": "is a symbolic link, not a regular file",
        "directory": "is a directory, not a regular file",
        "oversized": "is larger than 64 MiB",
    }[kind]
    assert output.count("mergeguard: the parse cache") == 1, output
    assert f"{cache_file} {why}; running without it" in output
    assert "rm -r" in output
    left = {  # not ours to replace: each is left as the user made it
        "fifo": cache_file.is_fifo(),
        "symlink-to-dev-zero": cache_file.is_symlink() and os.readlink(cache_file) == "/dev/zero",
        "directory": cache_file.is_dir() and not cache_file.is_symlink(),
        "oversized": cache_file.is_file() and cache_file.stat().st_size == cache.MAX_FILE_BYTES + 1,
    }
    assert [k for k, kept in left.items() if kept] == [kind]


def test_deeply_nested_cached_facts_are_re_read(repo: RepoBuilder) -> None:
    """Facts (kept for headers that import names) are checked for depth before
    anything recursive reads them."""
    repo.init_alembic()
    repo.write("migrations/consts.py", "PARENT = 'a1'\n")
    repo.migration("a1", None)
    repo.migration("b2", "__P__", prelude="from migrations import consts\n")
    path = repo.root / "migrations/versions/b2_migration.py"
    path.write_text(path.read_text().replace("'__P__'", "consts.PARENT"))
    repo.commit("b2 imports its parent")
    heads, _ = _heads(repo)
    assert heads == ["b2"]
    cache_file = repo.root / ".git" / "mergeguard" / "cache-v1.json"
    namespace, entries = _entries(cache_file)
    facts = [key for key in entries if key.startswith("f:")]
    assert facts
    nested: list[object] = ["l", "a1"]
    for _ in range(450):
        nested = ["s", [nested]]
    for key in facts:
        value = entries[key][2]
        assert isinstance(value, dict)
        value["bindings"] = [[name, nested, span] for name, _, span in value["bindings"]]
    cache_file.write_text(document_text(namespace, entries))
    heads, output = _heads(repo)
    assert heads == ["b2"], output
