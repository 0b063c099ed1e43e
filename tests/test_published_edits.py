"""MG107 published-revision-edited on real git repositories (issue 13, item 1).

The migrations are real Alembic files: written in both template styles and
loaded by the real ``alembic`` (``alembic heads`` must read every tree the
test checks), or made by ``alembic revision`` itself (the generic and the
multidb templates).  ``check main..feature`` must report an edit of a
published ``upgrade*()`` / ``downgrade*()`` body and stay quiet on
formatting-, comment- and docstring-only edits, on waived edits and on
revisions that only the feature branch has.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    RepoBuilder,
    alembic_project,
    alembic_revision,
    migration_text,
    run_alembic,
    set_upgrade,
)

from mergeguard.app.cli import main

VERSIONS = "migrations/versions"
B2_PATH = f"{VERSIONS}/b2_migration.py"
ADD_NAME = "op.add_column('users', sa.Column('name', sa.String(50)))"
INDEX = "op.create_index('ix_users_name', 'users', ['name'])"


def run_check(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", *(args or ("main..feature",)), "-C", str(repo.root), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def codes(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(f["code"] for f in findings)


def b2_text(
    style: str, upgrade: str = ADD_NAME, downgrade: str = "op.drop_column('users', 'name')"
) -> str:
    return migration_text("b2", "a1", style=style, upgrade=upgrade, downgrade=downgrade)


def published_history(repo: RepoBuilder, style: str, b2: str | None = None) -> None:
    """main: a1 creates users, b2 adds users.name (published); feature forks."""
    repo.init_alembic()
    repo.write(
        f"{VERSIONS}/a1_migration.py",
        migration_text(
            "a1",
            None,
            style=style,
            upgrade="op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True))",
            downgrade="op.drop_table('users')",
        ),
    )
    repo.write(B2_PATH, b2 or b2_text(style))
    repo.commit("a1, b2")
    repo.branch("feature")


def assert_alembic_reads(repo: RepoBuilder, head: str = "b2") -> None:
    """The real Alembic loads the checked-out tree (the file is a migration)."""
    result = run_alembic(repo, "heads")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [head, "(head)"], result.stdout


def line_of(repo: RepoBuilder, path: str, needle: str) -> int:
    lines = (repo.root / path).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_an_added_statement_in_a_published_upgrade_is_mg107(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    published_history(repo, style)
    repo.write(B2_PATH, b2_text(style, upgrade=f"{ADD_NAME}\n{INDEX}"))
    repo.commit("index users.name in place")
    assert_alembic_reads(repo)
    code, findings = run_check(repo, capsys)
    assert code == 1 and codes(findings) == ["MG107"], findings
    [finding] = findings
    assert finding["severity"] == "error" and finding["revisions"] == ["b2"]
    assert finding["path"] == B2_PATH
    assert finding["line"] == line_of(repo, B2_PATH, "create_index")
    assert "published on main" in finding["message"] and "upgrade()" in finding["message"]
    assert "adds `op.create_index('ix_users_name', ...)`" in finding["message"]
    assert "new revision" in finding["hint"] and "ignore[MG107]" in finding["hint"]


@pytest.mark.parametrize(
    ("downgrade", "expected", "at"),
    [  # an emptied body: its def line
        ("pass", "removes `op.drop_column('users', ...)`", "def downgrade("),
        (
            "op.drop_column('users', 'email')",
            "changes `op.drop_column('users', 'name')` to `op.drop_column('users', 'email')`",
            "email",
        ),
    ],
)
def test_a_removed_or_changed_statement_in_a_published_downgrade_is_mg107(
    repo: RepoBuilder,
    style: str,
    capsys: pytest.CaptureFixture[str],
    downgrade: str,
    expected: str,
    at: str,
) -> None:
    published_history(repo, style)
    repo.write(B2_PATH, b2_text(style, downgrade=downgrade))
    repo.commit("edit downgrade")
    code, findings = run_check(repo, capsys)
    assert code == 1 and codes(findings) == ["MG107"], findings
    assert "downgrade()" in findings[0]["message"] and expected in findings[0]["message"]
    assert findings[0]["line"] == line_of(repo, B2_PATH, at)


def reformatted(text: str) -> str:
    """The same code laid out otherwise: double quotes, one argument per
    line, blank lines and a trailing comma."""
    old = "    op.add_column('users', sa.Column('name', sa.String(50)))"
    new = (
        '\n    op.add_column(\n        "users",\n        sa.Column("name", sa.String(50)),\n    )\n'
    )
    assert old in text
    return text.replace(old, new)


def commented(text: str) -> str:
    old = "    op.add_column('users'"
    assert old in text
    return text.replace(old, "    # name is shown on the profile page\n" + old).replace(
        "sa.String(50)))", "sa.String(50)))  # 50 as in the form"
    )


def redocumented(text: str) -> str:
    old = "    op.add_column('users'"
    return text.replace(old, '    """Add users.name (shown on the profile page)."""\n' + old, 1)


@pytest.mark.parametrize("edit", [reformatted, commented, redocumented])
def test_formatting_comment_and_docstring_edits_are_quiet(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str], edit: Any
) -> None:
    published_history(repo, style)
    before = (repo.root / B2_PATH).read_text()
    repo.write(B2_PATH, edit(before))
    assert (repo.root / B2_PATH).read_text() != before
    repo.commit("layout")
    assert_alembic_reads(repo)
    assert repo.git("diff", "--stat", "main", "feature")  # the blob did change
    assert run_check(repo, capsys) == (0, [])


def test_the_waiver_in_the_edited_function_and_on_the_header(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    published_history(repo, style)
    waived = f"# mergeguard: ignore[MG107] no database has run b2 yet\n{ADD_NAME}\n{INDEX}"
    repo.write(B2_PATH, b2_text(style, upgrade=waived))
    repo.commit("waived in upgrade()")
    assert run_check(repo, capsys) == (0, [])
    # a waiver in another function does not waive this one
    repo.write(
        B2_PATH,
        b2_text(
            style, upgrade=f"{ADD_NAME}\n{INDEX}", downgrade="# mergeguard: ignore[MG107]\npass"
        ),
    )
    repo.commit("waiver in downgrade(), which also changed")
    code, findings = run_check(repo, capsys)
    assert code == 1 and codes(findings) == ["MG107"] and "upgrade()" in findings[0]["message"]
    # the header waiver every rule has: on the down_revision line
    text = b2_text(style, upgrade=f"{ADD_NAME}\n{INDEX}")
    text = re.sub(r"^(down_revision.*)$", r"\1  # mergeguard: ignore[MG107]", text, flags=re.M)
    repo.write(B2_PATH, text)
    repo.commit("waived on the header")
    assert_alembic_reads(repo)
    assert run_check(repo, capsys) == (0, [])


def test_an_unpublished_revision_can_be_edited(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    published_history(repo, style)
    repo.migration("c3", "b2", style=style, upgrade=INDEX)
    repo.commit("c3")
    repo.migration("c3", "b2", style=style, upgrade=f"{INDEX}\nop.drop_column('users', 'name')")
    repo.commit("edit c3, only on feature")
    assert_alembic_reads(repo, head="c3")
    assert run_check(repo, capsys) == (0, [])
    # ... and that edit is MG107 once main has c3
    repo.checkout("main")
    repo.git("merge", "-q", "--no-edit", "feature~1")
    repo.checkout("feature")
    code, findings = run_check(repo, capsys)
    assert code == 1 and codes(findings) == ["MG107"] and findings[0]["revisions"] == ["c3"]


def test_a_repointed_and_edited_revision_is_mg103_alone(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    published_history(repo, style)
    repo.migration("c3", "b2", style=style)
    repo.commit("c3")
    repo.checkout("main")
    repo.git("merge", "-q", "--no-edit", "feature")
    repo.checkout("feature")
    repo.write(
        f"{VERSIONS}/c3_migration.py", migration_text("c3", "a1", style=style, upgrade=INDEX)
    )
    repo.commit("re-point and edit c3")
    code, findings = run_check(repo, capsys)
    assert "MG103" in codes(findings) and "MG107" not in codes(findings), findings


def test_an_edit_main_made_itself_is_not_this_branch_s(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The target changed b2 too: the range's edit is not of the code as
    published (MG103 is quiet there the same way)."""
    published_history(repo, style)
    repo.write(B2_PATH, b2_text(style, upgrade=f"{ADD_NAME}\n{INDEX}"))
    repo.commit("feature edits b2")
    repo.checkout("main")
    repo.write(
        B2_PATH, b2_text(style, upgrade=f"{ADD_NAME}\nop.create_index('ix', 'users', ['id'])")
    )
    repo.commit("main edits b2 otherwise")
    assert run_check(repo, capsys) == (0, [])


def test_an_uncommitted_and_a_staged_edit_are_checked(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    published_history(repo, style)
    repo.write(B2_PATH, b2_text(style, upgrade=f"{ADD_NAME}\n{INDEX}"))
    code, findings = run_check(repo, capsys, "--base", "main")
    assert code == 1 and codes(findings) == ["MG107"], findings
    repo.git("add", B2_PATH)
    repo.write(B2_PATH, b2_text(style))  # the work tree restored, the index still edited
    code, findings = run_check(repo, capsys, "--staged", "--base", "main")
    assert code == 1 and codes(findings) == ["MG107"], findings
    assert run_check(repo, capsys, "--base", "main") == (0, [])


def test_revisions_made_by_alembic_generic_and_multidb(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    alembic_project(repo, users=True)
    path = alembic_revision(repo, "b2", "add name")
    set_upgrade(path, ADD_NAME, "op.drop_column('users', 'name')")
    repo.commit("b2")
    repo.branch("feature")
    text = path.read_text()
    assert "revision: str = 'b2'" in text  # the annotated template of alembic init
    path.write_text(text.replace(ADD_NAME, ADD_NAME.replace("50", "100")))
    repo.commit("widen in place")
    code, findings = run_check(repo, capsys)
    assert code == 1 and codes(findings) == ["MG107"], findings
    assert (
        "String(50)))` to `op.add_column('users', sa.Column('name', sa.String(100)))`"
        in (findings[0]["message"])
    )

    multi = RepoBuilder(tmp_path / "multidb")
    result = run_alembic(multi, "init", "-t", "multidb", "migrations")
    assert result.returncode == 0, result.stderr
    multi.write(".gitignore", "*.db\n__pycache__/\n")
    made = alembic_revision(multi, "a1", "first")
    multi.commit("a1")
    multi.branch("feature")
    text = made.read_text()
    engine2 = '    """Upgrade engine2 schema."""\n    pass'
    assert text.count(engine2) == 1
    made.write_text(text.replace(engine2, engine2 + "\n    op.create_table('audit')"))
    multi.commit("edit upgrade_engine2")
    code, findings = run_check(multi, capsys)
    assert code == 1 and codes(findings) == ["MG107"], findings
    assert "upgrade_engine2()" in findings[0]["message"]
    assert "adds `op.create_table('audit')`" in findings[0]["message"]
    # a new upgrade_<x>() in a multidb file is one env.py may run
    made.write_text(text + "\n\ndef upgrade_engine3():\n    op.create_table('audit')\n")
    multi.commit("add upgrade_engine3")
    code, findings = run_check(multi, capsys)
    assert code == 1 and codes(findings) == ["MG107"], findings
    assert "edits its upgrade_engine3() (adds upgrade_engine3())" in findings[0]["message"]


def test_a_revision_on_a_published_tag_is_published(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """c3 is only on feature, but tagged v1 (deployed from the tag): with
    ``published = ["refs/tags/v*"]`` editing it is MG107, without it quiet."""
    published_history(repo, style)
    repo.migration("c3", "b2", style=style, upgrade=INDEX)
    repo.commit("c3")
    repo.git("tag", "v1")
    repo.migration("c3", "b2", style=style, upgrade=INDEX.replace("ix_users_name", "ix_name"))
    repo.commit("rename the index in place")
    assert run_check(repo, capsys) == (0, [])
    repo.write("pyproject.toml", '[tool.mergeguard]\npublished = ["refs/tags/v*"]\n')
    repo.commit("tags are published")
    code, findings = run_check(repo, capsys)
    assert code == 1 and codes(findings) == ["MG107"], findings
    assert "published on v1" in findings[0]["message"]
    assert "ix_name" in findings[0]["message"]


def test_an_unedited_history_reads_no_function_bodies(repo: RepoBuilder, style: str) -> None:
    """Only a published revision whose file changed is read: a range that
    adds a revision never imports the body reader, an edit does."""
    published_history(repo, style)
    repo.migration("c3", "b2", style=style, upgrade=INDEX)
    repo.commit("c3")
    probe = (
        "import sys\nfrom mergeguard.app.cli import main\n"
        f"main(['check', 'main..feature', '-C', {str(repo.root)!r}, '--format', 'json'])\n"
        "print('mergeguard.parse.bodies' in sys.modules, file=sys.stderr)\n"
    )

    def reads_bodies() -> str:
        result = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=False
        )
        return result.stderr.strip().splitlines()[-1]

    assert reads_bodies() == "False"
    repo.write(B2_PATH, b2_text(style, upgrade=f"{ADD_NAME}\n{INDEX}"))
    repo.commit("edit b2")
    assert reads_bodies() == "True"


HELPERS = (
    '\nNAME = "users"\n\n\ndef _column(length):\n    """The name column."""\n'
    "    return sa.Column('name', sa.String(length))\n"
)
HELPED = "op.add_column(NAME, _column(50))"


def helped_history(repo: RepoBuilder, style: str) -> str:
    """main: b2's upgrade() uses a module constant and a helper (published)."""
    text = migration_text("b2", "a1", style=style, upgrade=HELPED, prelude=HELPERS)
    published_history(repo, style, text)
    return text


@pytest.mark.parametrize(
    ("old", "new", "at", "what"),
    [
        (
            'NAME = "users"',
            'NAME = "accounts"',
            "NAME =",
            "changes `NAME = 'users'` to `NAME = 'accounts'`",
        ),
        (
            "sa.String(length))",
            "sa.String(length), nullable=False)",
            "return sa.Column",
            "changes `return sa.Column('name', sa.String(length))` to "
            "`return sa.Column('name', sa.String(length), nullable=False)`",
        ),
    ],
)
def test_an_edited_constant_or_helper_of_a_published_revision_is_mg107(
    repo: RepoBuilder,
    style: str,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    at: str,
    what: str,
) -> None:
    text = helped_history(repo, style)
    repo.write(B2_PATH, text.replace(old, new))
    repo.commit("edit module-level code")
    assert_alembic_reads(repo)
    code, findings = run_check(repo, capsys)
    assert code == 1 and codes(findings) == ["MG107"], findings
    [finding] = findings
    assert finding["line"] == line_of(repo, B2_PATH, at)
    assert f"edits module-level code ({what})" in finding["message"], finding["message"]
    assert "restore module-level code of revision b2" in finding["hint"]
    # the waiver: on the statement (anywhere in the helper function)
    waived = text.replace(old, new).replace(new, f"{new}  # mergeguard: ignore[MG107]", 1)
    repo.write(B2_PATH, waived)
    repo.commit("waived")
    assert_alembic_reads(repo)
    assert run_check(repo, capsys) == (0, [])
    # or on the header's down_revision line
    header = re.sub(
        r"^(down_revision.*)$",
        r"\1  # mergeguard: ignore[MG107]",
        text.replace(old, new),
        flags=re.M,
    )
    repo.write(B2_PATH, header)
    repo.commit("waived on the header")
    assert run_check(repo, capsys) == (0, [])


def test_reordered_imports_and_layout_of_module_code_are_quiet(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = helped_history(repo, style)
    edited = text.replace(
        "from alembic import op\nimport sqlalchemy as sa\n",
        "import sqlalchemy as sa\n\nfrom alembic import op\n",
    ).replace('\n"""\n', '\n"""\nfrom __future__ import annotations\n\n', 1)
    edited = edited.replace('    """The name column."""\n', "").replace(
        'NAME = "users"', "\n\nNAME = 'users'  # the table"
    )
    assert edited != text
    repo.write(B2_PATH, edited)
    repo.commit("isort, quotes, comments")
    assert_alembic_reads(repo)
    assert run_check(repo, capsys) == (0, [])


def test_a_new_function_no_env_py_runs_is_quiet(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    published_history(repo, style)
    notes = "\n\ndef upgrade_notes():\n    return 'b2 adds users.name'\n"
    repo.write(B2_PATH, b2_text(style) + notes)
    repo.commit("an uncalled helper named upgrade_notes")
    assert_alembic_reads(repo)
    assert run_check(repo, capsys) == (0, [])


def test_the_plain_file_rewritten_in_the_annotated_template_is_quiet(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """The typing import, the identifiers' and the functions' annotations."""
    published_history(repo, "plain")
    repo.write(B2_PATH, b2_text("annotated"))
    repo.commit("annotated")
    assert_alembic_reads(repo)
    assert run_check(repo, capsys) == (0, [])
