"""Schema conflicts between the two sides of a git range (issue 9, items 3-5):
whatever Alembic's graph makes of them, no false twins, one root cause."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import RepoBuilder, alembic_project, alembic_revision, set_upgrade

from mergeguard.app.cli import main

USERS = (
    "op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True),\n"
    "    sa.Column('name', sa.String(50)))"
)
ADD_EMAIL = "op.add_column('users', sa.Column('email', sa.String(255)))"


def fork(repo: RepoBuilder, style: str, theirs: str, ours: str) -> None:
    """a1 creates users; main adds b2 with ``theirs``; feature adds c7 with
    ``ours``; main checked out."""
    repo.init_alembic()
    repo.migration("a1", None, style=style, upgrade=USERS)
    repo.commit("base")
    repo.branch("feature")
    repo.migration("c7", "a1", style=style, upgrade=ours)
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("b2", "a1", style=style, upgrade=theirs)
    repo.commit("main")


def findings(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder | Path, *args: str
) -> list[dict[str, object]]:
    root = repo.root if isinstance(repo, RepoBuilder) else repo
    main(["check", *(args or ("main..feature",)), "-C", str(root), "--format", "json"])
    return json.loads(capsys.readouterr().out)["findings"]  # type: ignore[no-any-return]


def schema(items: list[dict[str, object]]) -> list[tuple[object, list[object]]]:
    return sorted(
        (i["code"], sorted(i["revisions"]))  # type: ignore[arg-type]
        for i in items
        if str(i["code"]).startswith("MG2")
    )


# -- item 3: the two sides of the range, whatever the topology ---------------------------


def test_a_rebase_by_hand_keeps_the_conflict(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(repo, style, ADD_EMAIL, ADD_EMAIL + "\nop.create_index('ix_e', 'users', ['email'])")
    repo.checkout("feature")
    text = (repo.root / "migrations/versions/c7_migration.py").read_text()
    repo.write("migrations/versions/c7_migration.py", text.replace("= 'a1'", "= 'b2'", 1))
    repo.commit("re-point c7 onto main's b2")
    found = findings(capsys, repo)
    assert schema(found) == [("MG201", ["b2", "c7"])]
    [item] = [i for i in found if i["code"] == "MG201"]
    assert "both feature and main add column users.email" in str(item["message"])
    assert "MG102" not in {i["code"] for i in found}  # linear now: no heads to merge


def test_a_pull_requests_merge_commit_carries_the_sides(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitHub checks ``main..refs/pull/N/merge``: main is the merge base then,
    and the sides are the merge commit's parents."""
    fork(repo, "plain", ADD_EMAIL, ADD_EMAIL)
    repo.checkout("feature")
    text = (repo.root / "migrations/versions/c7_migration.py").read_text()
    repo.write("migrations/versions/c7_migration.py", text.replace("= 'a1'", "= 'b2'", 1))
    repo.commit("re-point c7 onto main's b2")
    repo.checkout("main")
    repo.branch("pull-merge")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "feature")
    repo.git("update-ref", "refs/pull/7/merge", "HEAD")
    assert schema(findings(capsys, repo, "main..refs/pull/7/merge")) == [("MG201", ["b2", "c7"])]


def _alembic_fork(repo: RepoBuilder) -> None:
    """Real `alembic revision` files: main's b2 and feature's c7 both add users.email."""
    alembic_project(repo, users=True)
    repo.branch("feature")
    set_upgrade(alembic_revision(repo, "c7", "add email"), ADD_EMAIL)
    repo.commit("feature")
    repo.checkout("main")
    set_upgrade(alembic_revision(repo, "b2", "add email too"), ADD_EMAIL)
    repo.commit("main")
    repo.checkout("feature")


def _fix(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str]:
    code = main(["fix", "--rebase", "main..feature", *args, "-C", str(root)])
    return code, capsys.readouterr().err


def test_fix_rebase_refuses_to_hide_a_conflict(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    _alembic_fork(repo)
    c7 = next((repo.root / "migrations/versions").glob("c7_*.py"))
    before = c7.read_bytes()
    code, err = _fix(capsys, repo.root)
    assert code == 1
    assert "schema conflict between the sides: MG201" in err and "users.email" in err
    assert "--allow-conflicts" in err and "wrote" not in err
    assert c7.read_bytes() == before and repo.git("status", "--porcelain") == ""
    assert _fix(capsys, repo.root, "--dry-run")[0] == 1  # nor does it pretend it would


def test_fix_rebase_with_allow_conflicts_writes_and_check_still_sees_it(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _alembic_fork(repo)
    copy = tmp_path / "copy"
    shutil.copytree(repo.root, copy)
    code, err = _fix(capsys, copy, "--allow-conflicts")
    assert code == 0 and "down_revision of c7 -> b2" in err
    assert "schema conflict between the sides: MG201" in err
    [c7] = (copy / "migrations/versions").glob("c7_*.py")
    assert "down_revision: Union[str, Sequence[str], None] = 'b2'" in c7.read_text()
    RepoBuilder(copy).commit("fix --rebase")  # (re-initialising a repository keeps it)
    # one line in Alembic's graph now, but both sides still add users.email
    assert schema(findings(capsys, copy)) == [("MG201", ["b2", "c7"])]


def test_a_squash_merge_of_the_feature_is_not_a_conflict(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(repo, style, ADD_EMAIL, ADD_EMAIL.replace("email", "phone"))
    repo.checkout("feature")
    text = (repo.root / "migrations/versions/c7_migration.py").read_text()
    repo.write("migrations/versions/c7_migration.py", text.replace("= 'a1'", "= 'b2'", 1))
    repo.commit("rebased by hand")
    repo.checkout("main")
    repo.git("merge", "--squash", "feature")
    repo.commit("squash-merge feature")
    squashed = (repo.root / "migrations/versions/c7_migration.py").read_text()
    assert "'phone'" in squashed and "= 'b2'" in squashed
    # c7 is on both sides now (the same id): it never conflicts with itself
    assert schema(findings(capsys, repo)) == []
    assert schema(findings(capsys, repo, "feature..main")) == []


def test_a_cherry_picked_revision_is_shared_not_added_twice(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(repo, "plain", "op.add_column('users', sa.Column('age', sa.Integer()))", ADD_EMAIL)
    repo.checkout("feature")
    repo.git("cherry-pick", "main")
    text = (repo.root / "migrations/versions/c7_migration.py").read_text()
    repo.write("migrations/versions/c7_migration.py", text.replace("= 'a1'", "= 'b2'", 1))
    repo.commit("line up")
    assert schema(findings(capsys, repo)) == []


# -- item 4: no false twins ---------------------------------------------------------------

OPAQUE = (
    "helper()",
    "conn = op.get_bind()\nconn.execute(sa.text(QUERY))",
    "for name in TABLES:\n    op.drop_table(name)",
    "op.execute(SQL)",
)


@pytest.mark.parametrize("body", OPAQUE)
def test_opaque_only_revisions_are_never_twins(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str], body: str
) -> None:
    fork(repo, style, body, body)
    assert schema(findings(capsys, repo)) == []


def test_equal_operations_are_still_twins(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    both = ADD_EMAIL + "\nop.create_index('ix_users_email', 'users', ['email'])"
    fork(repo, "plain", both, "# the same, written again\n" + both.replace("'", '"'))
    [item] = findings(capsys, repo, "main..feature", "--select", "MG2")
    assert item["code"] == "MG201" and "same migration" in str(item["message"])


def test_the_same_code_with_a_helper_call_is_a_twin(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    both = ADD_EMAIL + "\nbackfill_emails()"
    fork(repo, "plain", both, '"""Add email."""\n' + both)
    [item] = findings(capsys, repo, "main..feature", "--select", "MG2")
    assert item["code"] == "MG201" and "same migration" in str(item["message"])


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        (  # the same final state, spelled two ways
            "op.alter_column('users', 'name', type_=sa.String(length=100), nullable=False)",
            "op.alter_column('users', 'name', existing_type=sa.VARCHAR(50),\n"
            "    type_=sa.VARCHAR(100), nullable=False)",
        ),
        (  # two settings that do not touch each other
            "op.alter_column('users', 'name', nullable=False)",
            "op.alter_column('users', 'name', server_default='x')",
        ),
        (  # the same alteration under two ids repeats harmlessly
            "op.alter_column('users', 'name', nullable=False)",
            "op.alter_column('users', 'name', nullable=False)",
        ),
        (  # a constraint dropped and recreated on each side existed before both
            "op.drop_constraint('uq_users_name', 'users', type_='unique')\n"
            "op.create_unique_constraint('uq_users_name', 'users', ['name'])",
            "op.drop_constraint('uq_users_name', 'users', type_='unique')\n"
            "op.create_unique_constraint('uq_users_name', 'users', ['name', 'id'])",
        ),
        (  # check constraint names are per table (a naming convention prefixes them)
            "op.create_check_constraint('positive', 'users', 'id > 0')",
            "op.create_check_constraint('positive', 'orders', 'id > 0')",
        ),
        (  # a column re-created with another type is not a drop the other side trips on
            "op.drop_column('users', 'name')\nop.add_column('users', sa.Column('name', sa.Text()))",
            "op.create_index(op.f('ix_users_name'), 'users', ['name'])",
        ),
    ],
)
def test_no_false_alter_or_name_conflicts(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], theirs: str, ours: str
) -> None:
    fork(repo, "annotated", theirs, ours)
    assert schema(findings(capsys, repo)) == []


def test_a_rename_still_conflicts_with_any_alteration(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(
        repo,
        "plain",
        "op.alter_column('users', 'name', new_column_name='full_name')",
        "op.alter_column('users', 'name', type_=sa.Text())",
    )
    assert schema(findings(capsys, repo)) == [("MG205", ["b2", "c7"])]


def test_an_index_on_a_duplicated_column_is_one_finding(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(
        repo,
        "plain",
        "op.add_column('users', sa.Column('email', sa.String(255), index=True))",
        "op.add_column('users', sa.Column('email', sa.Text(), index=True))",
    )
    assert schema(findings(capsys, repo)) == [("MG201", ["b2", "c7"])]


# -- item 5: one root cause, one finding -----------------------------------------------


def _columns(*names: str) -> str:
    return "\n".join(f"op.add_column('users', sa.Column('{n}', sa.String(9)))" for n in names)


def test_a_duplicated_id_gives_its_root_cause_not_a_flood(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """feature copies an old migration for a new one and forgets to change its
    id: Alembic keeps one of the two files, and the graph around it breaks."""
    repo.init_alembic()
    history = [
        USERS,
        _columns("email"),
        "op.create_index('ix_users_email', 'users', ['email'])",
        "op.drop_index('ix_users_email', table_name='users')",
        "op.drop_column('users', 'email')",
        _columns("email"),
        "op.create_index('ix_users_email', 'users', ['email'])",
        "op.create_table('audit', sa.Column('id', sa.Integer()))",
        "op.drop_table('audit')",
        "op.create_table('audit', sa.Column('id', sa.Integer()))",
    ]
    parent = None
    for number, upgrade in enumerate(history):
        repo.migration(f"a{number}", parent, style=style, upgrade=upgrade)
        parent = f"a{number}"
    repo.commit("history")
    repo.branch("feature")
    repo.migration("f1", parent, style=style, upgrade=_columns("phone"))
    index = "op.create_index('ix_users_phone', 'users', ['phone'])"
    repo.migration("a2", "f1", style=style, filename="zz_index_phone.py", upgrade=index)
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("m1", parent, style=style, upgrade=_columns("phone"))
    repo.commit("main")
    found = findings(capsys, repo)
    assert "MG003" in {i["code"] for i in found}
    assert schema(found) == []  # nothing about history; f1 is on the broken cycle


@pytest.mark.parametrize(
    ("plain", "guarded"),
    [
        (
            "op.create_index('ix_users_name', 'users', ['name'])",
            "op.create_index('ix_users_name', 'users', ['name'], if_not_exists=True)",
        ),
        (
            "op.create_index('ix_users_name', 'users', ['name'])",
            'op.execute("CREATE INDEX IF NOT EXISTS ix_users_name ON users (name)")',
        ),
        (
            "op.add_column('users', sa.Column('name2', sa.String(5)))",
            'op.execute("ALTER TABLE users ADD COLUMN IF NOT EXISTS name2 VARCHAR(5)")',
        ),
    ],
)
def test_a_guarded_creation_cannot_fail_as_a_duplicate(
    repo: RepoBuilder,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    plain: str,
    guarded: str,
) -> None:
    fork(repo, "plain", plain, guarded)
    assert schema(findings(capsys, repo)) == []
    unguarded = RepoBuilder(tmp_path / "unguarded")
    fork(
        unguarded,
        "plain",
        plain,
        guarded.replace(", if_not_exists=True", "").replace("IF NOT EXISTS ", ""),
    )
    assert len(schema(findings(capsys, unguarded))) == 1  # without the guard: a finding


# -- after `git rebase` onto the target: the target's work is in the merge base ------------


def test_git_rebase_then_re_point_keeps_the_conflict(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(repo, style, ADD_EMAIL, ADD_EMAIL)
    repo.checkout("feature")
    repo.git("rebase", "-q", "main")  # main's b2 is now in the merge base
    text = (repo.root / "migrations/versions/c7_migration.py").read_text()
    repo.write("migrations/versions/c7_migration.py", text.replace("= 'a1'", "= 'b2'", 1))
    repo.commit("re-point c7 onto b2 by hand")
    found = findings(capsys, repo)
    assert schema(found) == [("MG201", ["b2", "c7"])]
    [item] = [i for i in found if i["code"] == "MG201"]
    assert "users.email" in str(item["message"]) and "history" in str(item["message"])
    assert schema(findings(capsys, repo, "--staged")) == [("MG201", ["b2", "c7"])]


def test_merging_the_target_in_then_re_pointing_keeps_the_conflict(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(repo, "plain", ADD_EMAIL, ADD_EMAIL)
    repo.checkout("feature")
    repo.git("merge", "-q", "--no-edit", "main")
    code = main(["fix", "--rebase", "main..feature", "--allow-conflicts", "-C", str(repo.root)])
    capsys.readouterr()
    assert code == 0
    repo.commit("re-point")
    assert schema(findings(capsys, repo)) == [("MG201", ["b2", "c7"])]


def test_following_history_is_no_conflict_when_the_objects_differ(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """An up-to-date branch adding a new column, or re-adding a dropped one."""
    drop = "op.drop_column('users', 'email')"
    fork(
        repo,
        "plain",
        ADD_EMAIL + "\n" + drop,
        "op.add_column('users', sa.Column('age', sa.Integer()))",
    )
    repo.checkout("feature")
    repo.git("rebase", "-q", "main")
    text = (repo.root / "migrations/versions/c7_migration.py").read_text()
    text = text.replace("= 'a1'", "= 'b2'", 1).replace(
        "op.add_column('users', sa.Column('age', sa.Integer()))", ADD_EMAIL
    )
    repo.write("migrations/versions/c7_migration.py", text)
    repo.commit("re-add email on top of main")
    assert schema(findings(capsys, repo)) == []


def test_fix_rebase_honours_the_projects_ignore(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """A conflict the project ignores in `check` does not block the fix either."""
    fork(repo, "plain", ADD_EMAIL, ADD_EMAIL)
    repo.checkout("feature")
    assert main(["fix", "--rebase", "main..feature", "-C", str(repo.root)]) == 1
    repo.write("pyproject.toml", '[tool.mergeguard]\nignore = ["MG201"]\n')
    repo.commit("the team accepts it")
    assert main(["fix", "--rebase", "main..feature", "-C", str(repo.root)]) == 0
    capsys.readouterr()
    assert "down_revision = 'b2'" in (repo.root / "migrations/versions/c7_migration.py").read_text()
