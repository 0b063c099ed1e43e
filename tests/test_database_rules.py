"""MG401-MG403 on real git repositories read by the real reader: what a
database's version table says (a DatabaseReading) against the sides of a
check.  The databases themselves are read in test_database_check.py; here
the readings are given, so that every shape of history is cheap to try."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from conftest import RepoBuilder
from test_graph_view import MERMAID_SHAPES
from test_rule_examples import build

from mergeguard.app.deployed_scenario import with_databases
from mergeguard.app.options import Options
from mergeguard.app.workspace import Workspace
from mergeguard.graph.deployed import nearest_kept
from mergeguard.model import DatabaseReading, Diagnostic
from mergeguard.rules.example_kit import A1, B2, Example, Rev
from mergeguard.rules.run import Selection, evaluate

DATABASE_CODES = Selection(("MG4",))


def reading(
    name: str,
    *current: str,
    refs: tuple[tuple[str, tuple[str, ...]], ...] = (),
    environment: str = "alembic",
) -> DatabaseReading:
    """What the reader makes of a database whose version table holds ``current``."""
    return DatabaseReading(name, f"sqlite:///{name}.db", environment, current=current, refs=refs)


def findings(
    repo: RepoBuilder, *readings: DatabaseReading, spec: str = "main..feature"
) -> list[Diagnostic]:
    workspace = Workspace(Options(directory=repo.root))
    scenario = with_databases(workspace, workspace.scenario(spec), readings)
    found = list(evaluate(scenario, DATABASE_CODES))
    workspace.close()
    return found


def codes(found: list[Diagnostic]) -> list[str]:
    return sorted(d.code for d in found)


@pytest.fixture
def forked(repo: RepoBuilder) -> RepoBuilder:
    """main: a1 <- b2 <- t3 (t3 after the fork); feature: b2 <- c3 <- d4."""
    build(
        repo,
        Example(
            "forked", (A1, B2), ours=(Rev("c3", "b2"), Rev("d4", "c3")), theirs=(Rev("t3", "b2"),)
        ),
        "plain",
    )
    return repo


def test_no_false_alarm_for_a_database_behind_or_on_either_side(forked: RepoBuilder) -> None:
    # behind, on the other side's new revision, on this branch's own, on two heads,
    # with no version table, an empty one: none is stranded, none rewritten
    quiet = [
        reading("behind", "a1"),
        reading("main", "t3"),
        reading("dev", "d4"),
        reading("both", "c3", "t3"),
        DatabaseReading("fresh", "sqlite:///f.db", "alembic", current=None),
        reading("downgraded"),
    ]
    assert findings(forked, *quiet) == []


def test_a_database_on_a_revision_no_branch_has_is_stranded(forked: RepoBuilder) -> None:
    """Stranded before the range (neither the merge base nor main has x9):
    a warning, as MG101's heads already on main; the range did not do it."""
    [found] = findings(forked, reading("staging", "x9"), reading("behind", "b2"))
    assert found.code == "MG401" and found.severity == "warning"
    assert "database staging is on revision x9" in found.message
    assert "already so before this change" in found.message
    assert "no branch mergeguard searched" in (found.hint or "")


def test_a_range_that_strands_a_database_is_an_error(repo: RepoBuilder) -> None:
    """The merge base has c3, the database applied it, the branch deletes it:
    this range strands the database (MG401 an error, and MG402)."""
    build(repo, Example("drop", (A1, B2, Rev("c3", "b2")), ours=(Rev("c3", delete=True),)), "plain")
    found = findings(repo, reading("staging", "c3"))
    stranded = [d for d in found if d.code == "MG401"]
    assert [d.severity for d in stranded] == ["error"]
    assert "already so" not in stranded[0].message
    assert codes(found) == ["MG401", "MG402"]


def test_the_hint_downgrades_from_the_branch_that_has_the_revision(forked: RepoBuilder) -> None:
    forked.branch("spike", "main")
    forked.migration("s4", "t3")
    forked.migration("s5", "s4")
    forked.commit("spike")
    forked.checkout("main")
    staging = reading("staging", "s5", refs=(("s5", ("spike",)),))
    [found] = findings(forked, staging)
    assert found.code == "MG401" and found.revisions == ("s5",)
    # t3 is the nearest ancestor the merged history keeps
    assert "from a checkout of spike, run `alembic downgrade s5@t3` against staging" in (
        found.hint or ""
    )


def test_a_stranded_row_beside_a_kept_one(forked: RepoBuilder) -> None:
    [found] = findings(forked, reading("staging", "t3", "zz"))
    assert found.code == "MG401" and found.revisions == ("zz",)


def test_rewriting_an_applied_revision_is_mg402(repo: RepoBuilder) -> None:
    build(repo, Example("re-point", (A1, B2, Rev("c3", "b2")), ours=(Rev("c3", "a1"),)), "plain")
    [found] = findings(repo, reading("staging", "c3"), reading("prod", "c3"))
    assert found.code == "MG402" and found.revisions == ("c3",)
    assert "databases prod, staging applied revision c3" in found.message
    assert "re-points its down_revision from b2 to a1" in found.message
    assert "alembic downgrade c3@b2" in (found.hint or "")
    assert found.location is not None and found.location.path.name == "c3_migration.py"
    # a database that has not applied c3 yet (on its parent) is not harmed
    assert findings(repo, reading("staging", "b2")) == []


def test_rewriting_an_ancestor_of_the_applied_row(repo: RepoBuilder) -> None:
    build(
        repo,
        Example("re-point", (A1, B2, Rev("c3", "b2"), Rev("d4", "c3")), ours=(Rev("c3", "a1"),)),
        "annotated",
    )
    [found] = findings(repo, reading("staging", "d4"))
    assert found.code == "MG402" and found.revisions == ("c3",)
    assert "alembic downgrade d4@b2" in (found.hint or "")


def test_deleting_and_renaming_an_applied_revision(repo: RepoBuilder) -> None:
    build(
        repo,
        Example(
            "gone",
            (A1, B2, Rev("c3", "b2"), Rev("d4", "c3", file="d4_file.py")),
            ours=(Rev("d4", delete=True, file="d4_file.py"), Rev("e5", "c3", file="d4_file.py")),
        ),
        "plain",
    )
    # staging is now also stranded: the merged history has no d4
    stranded, renamed = findings(repo, reading("staging", "d4"))
    assert (stranded.code, renamed.code) == ("MG401", "MG402")
    assert "renamed it to e5 in migrations/versions/d4_file.py" in renamed.message
    # on c3, below the renamed revision, the database is unharmed
    assert findings(repo, reading("staging", "c3")) == []


def test_deleting_an_applied_revision(repo: RepoBuilder) -> None:
    build(repo, Example("gone", (A1, B2, Rev("c3", "b2")), ours=(Rev("c3", delete=True),)), "plain")
    found = findings(repo, reading("staging", "c3"))
    assert codes(found) == ["MG401", "MG402"]
    assert "deleted it (migrations/versions/c3_migration.py)" in found[1].message
    assert "from a checkout of main, run `alembic downgrade c3@b2`" in (found[0].hint or "")


def test_a_change_the_other_side_made_is_not_the_ranges(repo: RepoBuilder) -> None:
    # main re-pointed c3 after the fork; feature left it alone: not feature's finding
    build(
        repo,
        Example(
            "theirs", (A1, B2, Rev("c3", "b2")), ours=(Rev("d4", "c3"),), theirs=(Rev("c3", "a1"),)
        ),
        "plain",
    )
    assert findings(repo, reading("staging", "c3")) == []
    # ... but checked the other way round, it is
    assert codes(findings(repo, reading("staging", "c3"), spec="feature..main")) == ["MG402"]


def test_the_other_sides_revision_that_this_branch_lacks_is_not_deleted(
    forked: RepoBuilder,
) -> None:
    assert findings(forked, reading("staging", "t3")) == []


def test_a_revision_only_this_branch_has_is_judged_by_fix_not_check(repo: RepoBuilder) -> None:
    # whatever version of c3 the database ran, no side but this branch shows one
    build(repo, Example("mine", (A1, B2), ours=(Rev("c3", "a1"),)), "plain")
    assert findings(repo, reading("dev", "c3")) == []


def test_an_unreachable_database_is_a_warning_naming_it(forked: RepoBuilder) -> None:
    down = DatabaseReading(
        "staging", "postgresql://app:***@db/app", "alembic", error="connection refused"
    )
    [found] = findings(forked, down)
    assert found.code == "MG403" and found.severity == "warning"
    assert "database staging could not be read (connection refused)" in found.message


def test_a_broken_file_silences_mg401(forked: RepoBuilder) -> None:
    forked.write("migrations/versions/zz_broken.py", "revision = (\n")
    forked.commit("broken")
    assert findings(forked, reading("staging", "zz")) == []


def test_nearest_kept_ancestors(forked: RepoBuilder) -> None:
    workspace = Workspace(Options(directory=forked.root))
    feature = workspace.read(workspace.snapshot("feature"))[0].graph
    main = workspace.read(workspace.snapshot("main"))[0].graph
    assert nearest_kept(feature, "d4", main) == ("b2",)
    assert nearest_kept(feature, "b2", main) == ("b2",)
    assert nearest_kept(feature, "d4", ()) == ()
    workspace.close()


def test_selection_skips_the_database_rules(forked: RepoBuilder) -> None:
    workspace = Workspace(Options(directory=forked.root))
    scenario = replace(workspace.scenario("main..feature"), databases=(reading("s", "x9"),))
    assert not [d for d in evaluate(scenario, Selection((), ("MG4",))) if d.code >= "MG4"]
    workspace.close()


# -- where the databases show: Mermaid marks, the Markdown table (escaped) -------------

HOSTILE = 'st"] --> x[<img src=x onerror=alert(1)>|`'


def test_mermaid_marks_each_database_escaped(forked: RepoBuilder) -> None:
    from mergeguard.report.graphviews import mermaid

    workspace = Workspace(Options(directory=forked.root))
    reads = workspace.read(workspace.snapshot("feature"))
    workspace.close()
    databases = [
        reading(HOSTILE, "b2"),
        reading("dev", "d4", "zz"),
        DatabaseReading("down", "", "alembic", error="timeout\n::error::x"),
        reading("other", "b2", environment="elsewhere"),
    ]
    chart = mermaid(reads, None, None, databases)
    lines = chart.splitlines()
    shapes = (*MERMAID_SHAPES, r'    \w+\[\("[^"\n]*"\)\]')  # and a database's cylinder
    for line in lines:
        assert any(re.fullmatch(shape, line) for shape in shapes), line
    assert "    e0__database0 -.-> e0_b2" in lines and "    e0__database1 -.-> e0_d4" in lines
    assert '"dev · stranded on zz"' in chart and '"down · unreachable"' in chart
    assert "other" not in chart and "<img" not in chart and "::error::" not in chart
    assert "  class e0__database0,e0__database1,e0__database2 database" in lines
    # --limit: a database on a revision left out points at the older revisions
    limited = mermaid(reads, None, 1, [reading("old", "a1")])
    assert "    e0__database0 -.-> e0__older" in limited.splitlines()


def test_markdown_table_of_databases_escaped() -> None:
    from mergeguard.model import DatabaseStatus
    from mergeguard.report.markdown import databases_table

    rows = databases_table(
        [
            DatabaseStatus(reading(HOSTILE, "b2"), "behind", pending=("c3", "d4")),
            DatabaseStatus(reading("s", "x|9"), "stranded", stranded=("x|9",)),
            DatabaseStatus(
                DatabaseReading("u", "", "alembic", error="no <route> | *x*"), "unreachable"
            ),
            DatabaseStatus(reading("e"), "empty", pending=("a1", "b2")),
        ]
    )
    assert rows[:2] == ["| Database | State | Pending |", "| --- | --- | --- |"]
    assert all(len(re.split(r"(?<!\\)\|", row)) == 5 for row in rows), rows  # 3 cells each
    # a name is code (GitHub shows it as written), its pipe escaped for the table
    assert rows[2] == '| `` st"] --> x[<img src=x onerror=alert(1)>\\|` `` | behind | 2 |'
    assert rows[3] == "| `s` | stranded on `x\\|9` |  |"
    assert rows[4] == "| `u` | unreachable: no &lt;route&gt; \\| \\*x\\* |  |"
    assert rows[5] == "| `e` | empty | 2 |"


def test_the_merge_hint_does_not_offer_to_rebase_what_a_database_applied(
    forked: RepoBuilder,
) -> None:
    workspace = Workspace(Options(directory=forked.root))
    plain = workspace.scenario("main..feature")
    applied = with_databases(workspace, plain, (reading("dev", "c3"),))
    behind = with_databases(workspace, plain, (reading("dev", "b2"),))
    [mg102] = [d for d in evaluate(applied) if d.code == "MG102"]
    assert "fix --merge main..feature` (database dev has applied c3" in (mg102.hint or "")
    assert "fix --rebase main..feature`, or" not in (mg102.hint or "")
    [mg102] = [d for d in evaluate(behind) if d.code == "MG102"]
    assert "fix --rebase main..feature`, or" in (mg102.hint or "")
    workspace.close()
