"""``mergeguard graph`` on a long real history: every revision once at any
width, ``--limit``, ``graph A..B`` marks, and hostile text escaped per format."""

from __future__ import annotations

import hashlib
import io
import json
import re
import warnings
from collections import Counter
from pathlib import Path, PurePosixPath

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from conftest import RepoBuilder
from hypothesis import HealthCheck, given, settings
from rich.console import Console
from test_graph_oracle import Rev, histories

from mergeguard.app.cli import main
from mergeguard.graph.building import build
from mergeguard.graph.environments import EnvironmentRead
from mergeguard.model import Environment, MigrationScript
from mergeguard.report.lanes import Row, layout
from mergeguard.report.treeview import RevisionTree

GUIDE = re.compile(r"^[+ ]*[●│├┤┘└┐┌┼─… ]*")


def rid(name: str) -> str:
    """A 12-hex-digit id like Alembic's, stable per name."""
    return hashlib.sha1(name.encode()).hexdigest()[:12]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def build_long_history(repo: RepoBuilder) -> dict[str, str]:
    """100 revisions: a trunk of 81 with a 10-revision side branch merged back
    (a fork, a merge) and an unmerged labelled branch of 8 (a second head)."""
    repo.init_alembic()
    ids: dict[str, str] = {}

    def add(name: str, *parents: str, **kwargs: object) -> None:
        ids[name] = rid(name)
        down: str | tuple[str, ...] | None = None
        if len(parents) == 1:
            down = ids[parents[0]]
        elif parents:
            down = tuple(ids[p] for p in parents)
        message = f"{name}: add column {len(ids)} to the accounts table for the reports"
        repo.migration(ids[name], down, message=message, **kwargs)  # type: ignore[arg-type]

    add("r000")
    for n in range(1, 61):
        add(f"r{n:03d}", f"r{n - 1:03d}")
    add("s01", "r040")
    for n in range(2, 11):
        add(f"s{n:02d}", f"s{n - 1:02d}")
    add("merge", "r060", "s10")
    add("r061", "merge")
    for n in range(62, 81):
        add(f"r{n:03d}", f"r{n - 1:03d}")
    add("L01", "r070", branch_labels="reporting")
    for n in range(2, 9):
        add(f"L{n:02d}", f"L{n - 1:02d}")
    repo.commit("a long history")
    assert len(ids) == 100
    return ids


def row_subjects(out: str, known: set[str]) -> Counter[str]:
    """How often each known id starts a line after the lane drawing."""
    counts: Counter[str] = Counter()
    for line in out.splitlines():
        words = GUIDE.sub("", line).split()
        if words and words[0] in known:
            counts[words[0]] += 1
    return counts


def alembic_revisions(root: Path) -> set[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        script = ScriptDirectory.from_config(AlembicConfig(str(root / "alembic.ini")))
        return {r.revision for r in script.walk_revisions()}


def line_of(out: str, revision: str) -> str:
    [line] = [x for x in out.splitlines() if revision in GUIDE.sub("", x).split()[:1]]
    return line


def row_text(out: str, revision: str) -> str:
    """A revision's line with the wrapped lines under it (they have no ``●``)."""
    lines = out.splitlines()
    start = lines.index(line_of(out, revision))
    end = next((i for i in range(start + 1, len(lines)) if "●" in lines[i]), len(lines))
    return " ".join(lines[start:end])


@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_every_revision_appears_exactly_once_at_any_width(
    repo: RepoBuilder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    columns: str,
) -> None:
    ids = build_long_history(repo)
    assert set(ids.values()) == alembic_revisions(repo.root)  # the oracle agrees on the set
    monkeypatch.setenv("COLUMNS", columns)
    code, out, _ = run(capsys, "graph", "-C", str(repo.root))
    assert code == 0
    counts = row_subjects(out, set(ids.values()))
    assert counts == Counter({revision: 1 for revision in ids.values()})
    assert max(len(line) for line in out.splitlines()) <= int(columns)
    lines = out.splitlines()
    # flat: the 60-revision trunk below the fork never moves right
    trunk = [line_of(out, ids[f"r{n:03d}"]) for n in range(0, 40)]
    assert all(line.startswith("● ") for line in trunk)
    # heads, the merge (with its other parent) and the label are marked
    assert "(head)" in line_of(out, ids["r080"]) and "(head)" in line_of(out, ids["L08"])
    merge = row_text(out, ids["merge"])
    assert "(mergepoint)" in merge and ids["s10"][:6] in merge
    assert "(branchpoint)" in line_of(out, ids["r040"])
    assert "(branchpoint)" in line_of(out, ids["r070"])
    assert "(reporting)" in line_of(out, ids["L01"])
    # newest first: a head before its parents, the base last
    position = {r: i for i, r in enumerate(lines)}
    assert position[line_of(out, ids["r080"])] < position[line_of(out, ids["r079"])]
    assert lines.index(line_of(out, ids["r000"])) == max(
        lines.index(line_of(out, r)) for r in ids.values()
    )


def test_wide_lines_are_cut_not_dropped(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = build_long_history(repo)
    monkeypatch.setenv("COLUMNS", "40")
    _, out, _ = run(capsys, "graph", "-C", str(repo.root))
    assert "…" in line_of(out, ids["r001"])  # the message is cut to fit
    monkeypatch.setenv("COLUMNS", "200")
    _, wide, _ = run(capsys, "graph", "-C", str(repo.root))
    assert "r001: add column 2 to the accounts table for the reports" in wide


def test_limit_keeps_the_newest_and_says_how_many_are_left_out(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = build_long_history(repo)
    monkeypatch.setenv("COLUMNS", "80")
    _, full, _ = run(capsys, "graph", "-C", str(repo.root))
    code, out, _ = run(capsys, "graph", "-C", str(repo.root), "--limit", "10")
    assert code == 0
    known = set(ids.values())
    first_ten = [w for w in (GUIDE.sub("", x).split()[:1] for x in full.splitlines()) if w]
    expected = [w[0] for w in first_ten if w[0] in known][:10]
    assert list(row_subjects(out, known)) == expected
    assert out.splitlines()[-1] == "… 90 older revisions not shown (--limit)"
    assert ids["r080"] in expected  # the newest head comes first
    document = json.loads(
        run(capsys, "graph", "-C", str(repo.root), "--limit", "10", "--format", "json")[1]
    )
    [env] = document["environments"]
    assert {r["revision"] for r in env["revisions"]} == set(expected) and env["omitted"] == 90
    dot = run(capsys, "graph", "-C", str(repo.root), "--limit", "10", "--format", "dot")[1]
    assert "90 older revisions not shown" in dot and ids["r000"] not in dot
    assert run(capsys, "graph", "-C", str(repo.root), "--limit", "0")[0] == 2


def build_range(repo: RepoBuilder) -> dict[str, str]:
    """main and feature each add revisions on a shared history of three."""
    repo.init_alembic()
    repo.migration("base01", None, message="create users")
    repo.migration("base02", "base01")
    repo.migration("base03", "base02")
    repo.commit("shared")
    repo.branch("feature")
    repo.migration("ours01", "base03", message="add email")
    repo.migration("ours02", "ours01", message="index email")
    repo.commit("feature work")
    repo.checkout("main")
    repo.migration("theirs1", "base03", message="add phone")
    repo.commit("main work")
    return {"ours": "ours01 ours02", "theirs": "theirs1"}


def test_range_marks_what_each_side_adds(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_range(repo)
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = run(capsys, "graph", "-C", str(repo.root), "main..feature")
    assert code == 0
    marked = {GUIDE.sub("", x).split()[0]: x for x in out.splitlines()[1:]}
    assert set(marked) == {"base01", "base02", "base03", "ours01", "ours02", "theirs1"}
    for revision in ("ours01", "ours02"):
        assert marked[revision].startswith("+ ") and "[feature]" in marked[revision]
    assert marked["theirs1"].startswith("+ ") and "[main]" in marked["theirs1"]
    for revision in ("base01", "base02", "base03"):
        assert not marked[revision].startswith("+") and "[" not in marked[revision]
    assert "(branchpoint)" in marked["base03"]
    document = json.loads(
        run(capsys, "graph", "-C", str(repo.root), "main..feature", "--format", "json")[1]
    )
    added = {r["revision"]: r["added_by"] for r in document["environments"][0]["revisions"]}
    assert added == {
        "base01": None,
        "base02": None,
        "base03": None,
        "ours01": "ours",
        "ours02": "ours",
        "theirs1": "theirs",
    }
    assert document["range"]["ours_label"] == "feature"
    assert document["range"]["ours"] == repo.git("rev-parse", "feature")
    mermaid = run(capsys, "graph", "-C", str(repo.root), "main..feature", "--format", "mermaid")[1]
    assert re.search(r"class \S*ours01\S*,\S*ours02\S* ours\n", mermaid)
    assert "+ main" in mermaid
    dot = run(capsys, "graph", "-C", str(repo.root), "main..feature", "--format", "dot")[1]
    assert re.search(r'"alembic:ours01" \[label="\+ feature\\n', dot)
    # without a range nothing is marked; a range and --ref together is a usage error
    plain = run(capsys, "graph", "-C", str(repo.root))[1]
    assert "+ " not in plain and "[feature]" not in plain
    assert run(capsys, "graph", "-C", str(repo.root), "main..feature", "--ref", "main")[0] == 2
    code, _, err = run(capsys, "graph", "-C", str(repo.root), "main")
    assert code == 2 and "--ref main" in err


HOSTILE = 'a "b"] --> c[bold]d[/bold] `e` #35; <b>\nsecond line'
LABEL = 'rep"]-->orts'


def hostile_repo(repo: RepoBuilder) -> None:
    repo.init_alembic()
    repo.migration("aaa1", None, message=HOSTILE)
    repo.migration("bbb2", "aaa1", message=HOSTILE, branch_labels=LABEL)
    repo.commit()


def test_hostile_text_prints_literally_in_the_tree(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile_repo(repo)
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, "graph", "-C", str(repo.root))
    assert code == 0
    assert 'a "b"] --> c[bold]d[/bold] `e` #35; <b>' in out  # markup not interpreted
    assert f"({LABEL})" in out and "second line" not in out


def dot_tokens(text: str) -> list[str]:
    """DOT's tokens; anything else (an unbalanced quote) fails the test."""
    token = re.compile(r'\s*("(?:[^"\\]|\\.)*"|->|[{}\[\];,=]|[A-Za-z_][A-Za-z_0-9]*|\d+)', re.S)
    found, at = [], 0
    while at < len(text.rstrip()):
        match = token.match(text, at)
        assert match, f"not DOT at {text[at : at + 40]!r}"
        found.append(match.group(1))
        at = match.end()
    return found


_QUOTED = r'"[^"\n]*"'
# Every line a Mermaid chart may have: nothing from the repository leaves its quotes.
MERMAID_SHAPES = (
    r"flowchart BT",
    rf"  subgraph \w+\[{_QUOTED}\]",
    rf"    \w+\[{_QUOTED}\]",
    r"    \w+ (-->|-\.->) \w+",
    r"  end",
    r"  class [\w,]+ \w+",
    r"  classDef \w+ \S+",
)


def test_hostile_text_is_escaped_in_dot_and_mermaid(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile_repo(repo)
    _, dot, _ = run(capsys, "graph", "-C", str(repo.root), "--format", "dot")
    tokens = dot_tokens(dot)
    assert tokens.count("{") == tokens.count("}") == 2 and tokens.count("[") == tokens.count("]")
    labels = [tokens[i + 2] for i, t in enumerate(tokens) if t == "label" and tokens[i + 1] == "="]
    decoded = [json.loads(x) for x in labels]  # DOT's \" and \\ read the same as JSON's
    assert any(
        'a "b"] --> c[bold]d[/bold] `e` #35; <b>' in x and f"({LABEL})" in x for x in decoded
    )
    assert tokens.count("->") == 1  # the one real edge; the message's --> stays in its label
    _, chart, _ = run(capsys, "graph", "-C", str(repo.root), "--format", "mermaid")
    lines = chart.splitlines()
    for line in lines:
        assert any(re.fullmatch(shape, line) for shape in MERMAID_SHAPES), line
    assert sum(1 for x in lines if "-->" in x) == 1
    assert (
        "second line" not in chart and "#34;b#34;] --#62; c[bold]" in chart and "#35;35;" in chart
    )


# -- the lane layout on random histories (pure: no git needed) ------------------------


def scripts_of(revs: list[Rev]) -> tuple[MigrationScript, ...]:
    return tuple(
        MigrationScript(
            PurePosixPath(f"v/{r.revision}.py"),
            r.revision,
            r.down,
            branch_labels=r.labels,
            depends_on=r.deps,
        )
        for r in revs
    )


def edges_drawn(rows: tuple[Row, ...]) -> set[tuple[str, str]]:
    """The (child, parent) edges a reader follows along the lanes; a lane that
    starts or ends anywhere but at a revision fails the test."""
    owners: dict[int, set[str]] = {}
    drawn: set[tuple[str, str]] = set()
    for row in rows:
        ends = {row.column, *row.joins}
        starts = {row.column, *row.forks}
        width = max(len(row.above), len(row.below), *(j + 1 for j in ends | starts))
        arriving: set[str] = set()
        for j in range(width):
            above = j < len(row.above) and row.above[j]
            below = j < len(row.below) and row.below[j]
            assert above == (j in owners), f"lane {j} at {row.revision}"
            if j in ends and above:
                arriving |= owners.pop(j)
            elif above and not below:
                raise AssertionError(f"lane {j} vanishes at {row.revision}")
            if j in starts and below:
                owners[j] = {row.revision}
            elif below and j not in owners:
                raise AssertionError(f"lane {j} appears from nowhere at {row.revision}")
        drawn |= {(child, row.revision) for child in arriving}
    assert owners == {}, "lanes left open after the last revision"
    return drawn


@given(histories())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_lanes_draw_every_edge_and_every_revision_once(revs: list[Rev]) -> None:
    graph, _ = build(scripts_of(revs), "alembic")
    rows = layout(graph)
    assert sorted(r.revision for r in rows) == sorted(r.revision for r in revs)
    position = {row.revision: i for i, row in enumerate(rows)}
    expected = {(r.revision, p) for r in revs for p in r.down}
    assert all(position[child] < position[parent] for child, parent in expected)  # newest first
    assert edges_drawn(rows) == expected
    read = EnvironmentRead(Environment("alembic", ()), "test", scripts_of(revs), ())
    for width in (20, 40):
        console = Console(file=io.StringIO(), width=width, highlight=False)
        console.print(RevisionTree(read))
        out = console.file.getvalue()  # type: ignore[attr-defined]
        counts = row_subjects(out, {r.revision for r in revs})
        assert counts == Counter({r.revision: 1 for r in revs})
        assert max(len(line) for line in out.splitlines()) <= width


def test_cycles_and_missing_parents_are_still_drawn_once() -> None:
    revs = [Rev("a", ("c",), (), ()), Rev("b", ("a",), (), ()), Rev("c", ("b",), (), ())]
    revs += [Rev("d", ("a",), (), ()), Rev("e", ("gone",), (), ())]
    graph, problems = build(scripts_of(revs), "alembic")
    assert {p.code for p in problems} >= {"MG004", "MG005"}
    assert sorted(row.revision for row in layout(graph)) == ["a", "b", "c", "d", "e"]
    read = EnvironmentRead(Environment("alembic", ()), "test", scripts_of(revs), ())
    console = Console(file=io.StringIO(), width=80, highlight=False)
    console.print(RevisionTree(read))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert row_subjects(out, set("abcde")) == Counter("abcde")
    assert "e (head) (missing parent gone)" in out and "a (branchpoint) (parent c above" in out


def test_the_shape_of_a_fork_and_a_merge() -> None:
    """The picture itself: flat runs, a lane for the side line, corners where it
    leaves and rejoins, the merge naming both parents."""
    revs = [
        Rev("base", (), (), ()),
        Rev("fork", ("base",), (), ()),
        Rev("left", ("fork",), (), ()),
        Rev("right", ("fork",), (), ()),
        Rev("merge", ("left", "right"), (), ()),
        Rev("top", ("merge",), (), ()),
        Rev("other", ("top",), (), ("side",)),
        Rev("head", ("top",), (), ()),
    ]
    read = EnvironmentRead(Environment("alembic", ()), "test", scripts_of(revs), ())
    console = Console(file=io.StringIO(), width=80, highlight=False)
    console.print(RevisionTree(read))
    assert console.file.getvalue().splitlines() == [  # type: ignore[attr-defined]
        "alembic test",
        "● head (head)",
        "│ ● other (side) (head)",
        "●─┘ top (branchpoint)",
        "●─┐ merge (mergepoint) (merges left, right)",
        "● │ left",
        "│ ● right",
        "●─┘ fork (branchpoint)",
        "● base",
    ]


def test_a_revision_both_sides_added_is_marked_once_with_both_names(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hotfix cherry-picked onto both branches: one node, both sides named."""
    monkeypatch.setenv("COLUMNS", "100")
    repo.init_alembic()
    repo.migration("base01", None)
    repo.commit("shared")
    repo.branch("feature")
    repo.migration("hotfix", "base01", message="hotfix")
    repo.migration("ours01", "hotfix")
    repo.commit("feature work")
    repo.checkout("main")
    repo.migration("hotfix", "base01", message="hotfix")
    repo.commit("the same hotfix on main")
    _, out, _ = run(capsys, "graph", "-C", str(repo.root), "main..feature")
    assert row_subjects(out, {"base01", "hotfix", "ours01"}) == Counter(
        ["base01", "hotfix", "ours01"]
    )
    assert "+ ● hotfix [main, feature]" in out
    document = json.loads(
        run(capsys, "graph", "-C", str(repo.root), "main..feature", "--format", "json")[1]
    )
    added = {r["revision"]: r["added_by"] for r in document["environments"][0]["revisions"]}
    assert added == {"base01": None, "hotfix": "both", "ours01": "ours"}
