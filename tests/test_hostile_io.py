"""Hostile writes, forged CI output, a hostile pyproject.toml and a hostile
``git`` (issue 10, items 4, 5 and 6).

Every case runs mergeguard as a subprocess with a time and memory limit and
asserts a bounded run, an exit code in 0/1/3, no traceback or internal
error, and the diagnostic.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import alembic
import pytest
from bounded import TIME_LIMIT, bounded_mergeguard
from conftest import ALEMBIC_INI, RepoBuilder

VERSIONS = "migrations/versions"
GENERIC_TEMPLATE = (Path(alembic.__file__).parent / "templates/generic/script.py.mako").read_text()


def mergeguard(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = TIME_LIMIT
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a bounded run."""
    result = bounded_mergeguard(root, *args, env=env, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


def project(repo: RepoBuilder, ini: str = ALEMBIC_INI) -> None:
    """An Alembic layout with the generic script.py.mako and revision a1."""
    repo.init_alembic(ini)
    repo.write("migrations/script.py.mako", GENERIC_TEMPLATE)
    repo.migration("a1", None)
    repo.commit("init")


def two_heads(repo: RepoBuilder, ini: str = ALEMBIC_INI) -> None:
    """main: a1 <- b2 and a1 <- c7, two heads in the working tree."""
    project(repo, ini)
    repo.migration("b2", "a1")
    repo.migration("c7", "a1")
    repo.commit("two heads")


def files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# -- item 4: nothing fix writes leaves the versions directory --------------------------


@pytest.mark.parametrize(
    "template",
    ["../../../../outside/%%(rev)s_%%(slug)s", "{outside}/%%(rev)s", "../%%(rev)s"],
)
def test_merge_refuses_a_file_template_leading_out(
    repo: RepoBuilder, tmp_path: Path, template: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    template = template.format(outside=outside)
    two_heads(repo, ALEMBIC_INI.replace("[alembic]\n", f"[alembic]\nfile_template = {template}\n"))
    before = files_under(tmp_path)
    for dry_run in ((), ("--dry-run",)):
        code, out, err = mergeguard(repo.root, "fix", "--merge", "--rev-id", "m1", *dry_run)
        assert code == 3, err
        assert "file_template" in err and "outside the versions directory" in err
        assert "alembic.ini [alembic]" in err and "hint:" in err
        assert out == ""
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("rev_id", ["../../x", "/tmp/x", "a\\b", "..", "m\n1", "ok\u202e"])
def test_merge_refuses_a_rev_id_naming_a_path(
    repo: RepoBuilder, tmp_path: Path, rev_id: str
) -> None:
    two_heads(repo)
    before = files_under(tmp_path)
    code, _, err = mergeguard(repo.root, "fix", "--merge", "--rev-id", rev_id)
    assert code == 3 and "--rev-id" in err and "cannot name a file" in err, err
    assert files_under(tmp_path) == before


def test_merge_refuses_a_file_name_too_long(repo: RepoBuilder) -> None:
    two_heads(repo)
    code, _, err = mergeguard(repo.root, "fix", "--merge", "--rev-id", "x" * 5000)
    assert code == 3 and "has a part of 5004 bytes; file systems allow 255" in err, err
    assert "hint: pass a shorter --rev-id or -m" in err


def test_merge_refuses_a_symlinked_sub_directory_leading_out(
    repo: RepoBuilder, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    two_heads(repo, ALEMBIC_INI.replace("[alembic]\n", "[alembic]\nfile_template = sub/%%(rev)s\n"))
    (repo.root / VERSIONS / "sub").symlink_to(outside, target_is_directory=True)
    code, _, err = mergeguard(repo.root, "fix", "--merge", "--rev-id", "m1")
    assert code == 3, err
    assert f"{VERSIONS}/sub/m1.py is a path through a symbolic link to {outside}" in err
    assert list(outside.iterdir()) == []


def test_merge_into_a_real_sub_directory_still_works(repo: RepoBuilder) -> None:
    two_heads(
        repo, ALEMBIC_INI.replace("[alembic]\n", "[alembic]\nfile_template = %%(year)s/%%(rev)s\n")
    )
    code, _, err = mergeguard(repo.root, "fix", "--merge", "--rev-id", "m1")
    assert code == 0, err
    [written] = (repo.root / VERSIONS).glob("*/m1.py")
    assert written.parent.name.isdigit() and "Revises: b2, c7" in written.read_text()


def diverged_branches(repo: RepoBuilder) -> None:
    """main: a1 <- b2; feature: a1 <- c7, feature checked out."""
    project(repo)
    repo.branch("feature")
    repo.migration("c7", "a1")
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("b2", "a1")
    repo.commit("main")
    repo.checkout("feature")


def test_rebase_refuses_a_file_linked_out_of_the_repository(
    repo: RepoBuilder, tmp_path: Path
) -> None:
    diverged_branches(repo)
    link = repo.root / VERSIONS / "c7_migration.py"
    target = tmp_path / "c7_elsewhere.py"
    target.write_bytes(link.read_bytes())
    link.unlink()
    link.symlink_to(target)
    before = target.read_bytes()
    code, _, err = mergeguard(repo.root, "fix", "--rebase", "main..feature")
    assert code == 3, err
    assert f"{VERSIONS}/c7_migration.py is a symbolic link to {target}" in err
    assert link.is_symlink() and target.read_bytes() == before


def test_rebase_writes_through_a_link_inside_the_repository(repo: RepoBuilder) -> None:
    diverged_branches(repo)
    link = repo.root / VERSIONS / "c7_migration.py"
    target = repo.root / VERSIONS / "shared" / "c7.py"
    target.parent.mkdir()
    target.write_bytes(link.read_bytes())
    link.unlink()
    link.symlink_to(Path("shared") / "c7.py")
    code, _, err = mergeguard(repo.root, "fix", "--rebase", "main..feature")
    assert code == 0, err
    assert link.is_symlink(), "the link was replaced by a regular file"
    assert "down_revision = 'b2'" in target.read_text()


# -- item 6: a hostile pyproject.toml, a hostile git -----------------------------------


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a=", "}")])
def test_deeply_nested_pyproject_is_cannot_read(
    repo: RepoBuilder, opening: str, closing: str
) -> None:
    project(repo)
    repo.write("pyproject.toml", f"[tool.alembic]\nx = {opening * 5000}{closing * 5000}\n")
    repo.commit("nested pyproject")
    for command in ("check", "heads"):
        code, out, err = mergeguard(repo.root, command)
        assert code == 3 and out == ""
        assert "cannot read pyproject.toml in worktree: arrays or inline tables nested" in err
        assert "hint: flatten the nested values in pyproject.toml" in err


REAL_GIT = subprocess.run(
    ["sh", "-c", "command -v git"], capture_output=True, text=True, check=True
).stdout.strip()
GARBAGE = r"printf '\001\002 ::error::forged\033[31m\007\377\376 not git\n'"


def fake_git(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose first ``git`` on PATH is the shell script ``body``."""
    directory = tmp_path / "fake-bin"
    directory.mkdir(exist_ok=True)
    script = directory / "git"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}


def test_a_git_printing_garbage_is_a_clear_error(repo: RepoBuilder, tmp_path: Path) -> None:
    project(repo)
    env = fake_git(tmp_path, f"{GARBAGE}\nexit 0")
    for command in ("check", "heads", "graph", "fix --merge"):
        code, out, err = mergeguard(repo.root, *command.split(), env=env)
        assert code == 3 and out == "", err
        assert "git rev-parse printed something git does not print" in err
        assert "\x1b" not in err and "\x07" not in err and "\n::error::" not in err
        assert "command -v git" in err


def test_a_git_garbling_everything_after_discovery_is_a_clear_error(
    repo: RepoBuilder, tmp_path: Path
) -> None:
    project(repo)
    repo.git("branch", "other")
    env = fake_git(
        tmp_path,
        f'case "$*" in *--path-format=absolute*|*--show-toplevel*) exec {REAL_GIT} "$@";; esac\n'
        f"{GARBAGE}\nexit 0",
    )
    for command in ("check", "check --staged", "check main..other", "heads"):
        code, out, err = mergeguard(repo.root, *command.split(), env=env)
        assert code == 3 and out == "", err
        assert "printed something git does not print" in err
        assert "\x1b" not in err and "\x07" not in err


def test_a_hanging_git_is_stopped(repo: RepoBuilder, tmp_path: Path) -> None:
    import time

    project(repo)
    env = {**fake_git(tmp_path, "exec sleep 60"), "MERGEGUARD_GIT_TIMEOUT": "1"}
    started = time.monotonic()
    code, _, err = mergeguard(repo.root, "check", env=env)
    assert time.monotonic() - started < 10
    assert code == 3
    assert "git rev-parse did not finish within 1 seconds (stopped)" in err
    assert "MERGEGUARD_GIT_TIMEOUT" in err


def test_a_hanging_git_after_discovery_is_stopped(repo: RepoBuilder, tmp_path: Path) -> None:
    project(repo)
    body = f'case "$*" in *rev-parse*) exec {REAL_GIT} "$@";; esac\nexec sleep 60'
    env = {**fake_git(tmp_path, body), "MERGEGUARD_GIT_TIMEOUT": "0.5"}
    code, _, err = mergeguard(repo.root, "check", env=env)
    assert code == 3 and "did not finish within 0.5 seconds" in err, err


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf"])
def test_a_bad_git_timeout_is_named(repo: RepoBuilder, value: str) -> None:
    project(repo)
    code, _, err = mergeguard(repo.root, "check", env={"MERGEGUARD_GIT_TIMEOUT": value})
    assert code == 3 and f"MERGEGUARD_GIT_TIMEOUT={value!r} is not a number of seconds" in err


# -- item 5: forged CI output ----------------------------------------------------------

FORGED_ID = "b2\n::error file=x::forged\x1b[31m\x07"
FORGED_LABEL = "lab\n::warning::forged\u202e"
HTML_NAME = "<img src=x onerror=alert(1)><b>bold.py"
FORGED_NAME = "d4\x1b]0;forged title\x07.py"  # Alembic reads no file with a newline in its name


def forged_range(repo: RepoBuilder) -> None:
    """main: a1 <- c7; feature: a1 <- a revision whose id and label hold a newline
    and a workflow command, in a file whose name is HTML."""
    project(repo)
    repo.branch("feature")
    repo.write(
        f"{VERSIONS}/{HTML_NAME}",
        f'"""forged\n\nRevision ID: b2\n"""\nrevision = {FORGED_ID!r}\ndown_revision = "a1"\n',
    )
    repo.migration("d4", "a1", filename=FORGED_NAME, branch_labels=(FORGED_LABEL,))
    repo.commit("forged")
    repo.checkout("main")
    repo.migration("c7", "a1")
    repo.commit("main")


def assert_no_forged_lines(output: str) -> None:
    """No line a runner would execute but mergeguard's own annotations; no ESC,
    BEL or bidirectional override anywhere."""
    for line in output.splitlines():
        if line.lstrip().startswith("::"):
            ours = ("::error file=migrations/", "::warning file=migrations/", "::error title=")
            assert line.startswith(ours), line
    assert not any(c in output for c in "\x1b\x07\u202e"), output


def test_text_output_of_check_and_heads_escapes_repository_values(repo: RepoBuilder) -> None:
    forged_range(repo)
    code, out, err = mergeguard(repo.root, "check", "main..feature")
    assert code == 1
    assert_no_forged_lines(out + err)
    assert r"a1: b2\n::error file=x::forged\x1b[31m\x07 (migrations/versions/<img" in out
    repo.checkout("feature")
    for command in ("heads", "graph"):
        code, out, err = mergeguard(repo.root, command)
        assert_no_forged_lines(out + err)
        assert r"b2\n::error file=x::forged\x1b[31m\x07" in out
    code, out, _ = mergeguard(repo.root, "heads")
    assert r"d4 (lab\n::warning::forged\u202e) (head)" in out


def test_github_format_escapes_esc_and_bel(repo: RepoBuilder) -> None:
    forged_range(repo)
    code, out, err = mergeguard(repo.root, "check", "main..feature", "--format", "github")
    assert code == 1
    assert_no_forged_lines(out + err)
    assert all(line.startswith(("::error ", "::warning ")) for line in out.splitlines()), out
    assert r"b2%0A::error file=x::forged\x1b[31m\x07" in out


def test_markdown_format_escapes_html_and_keeps_lists_whole(repo: RepoBuilder) -> None:
    forged_range(repo)
    code, out, err = mergeguard(repo.root, "check", "main..feature", "--format", "markdown")
    assert code == 1
    assert_no_forged_lines(out + err)
    # raw HTML only inside code spans, which GitHub shows literally
    outside_code = re.sub(r"(`+)(?!`).+?(?<!`)\1(?!`)", "", out)
    assert "<img" not in outside_code and "<b>" not in outside_code, outside_code
    assert f"`{VERSIONS}/{HTML_NAME}:5`" in out
    table = [line for line in out.splitlines() if line.startswith("| :x:")]
    [forged] = [line for line in table if "MG007" in line]
    assert forged.endswith(" |") and "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;bold.py" in forged
    # every hint is one bullet line; nothing after the list starts a new block of its own
    hints = out.split("**Hints**\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert hints and all(line.startswith("- **MG") for line in hints), hints


def test_json_and_sarif_keep_the_raw_values(repo: RepoBuilder) -> None:
    import json

    forged_range(repo)
    _, out, _ = mergeguard(repo.root, "check", "main..feature", "--format", "json")
    findings = json.loads(out)["findings"]
    [merge_point] = [f for f in findings if f["code"] == "MG102"]
    assert FORGED_ID in merge_point["revisions"] and FORGED_ID in merge_point["message"]
    _, out, _ = mergeguard(repo.root, "check", "main..feature", "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert any(FORGED_ID in result["message"]["text"] for result in results)


def test_errors_on_stderr_escape_repository_values(repo: RepoBuilder) -> None:
    project(repo)
    repo.write("pyproject.toml", '[tool.mergeguard]\nbase = "no\\u001b[31mpe\\n::error::forged"\n')
    repo.commit("a base from the repository")
    for fmt in ("text", "github"):
        code, out, err = mergeguard(repo.root, "check", "--format", fmt)
        assert code == 3, err
        assert r"unknown git ref 'no\x1b[31mpe\n::error::forged'" in err
        assert_no_forged_lines(out + err)


def test_a_git_printing_without_end_is_stopped(repo: RepoBuilder, tmp_path: Path) -> None:
    project(repo)
    env = fake_git(tmp_path, "exec yes '::error::forged'")
    code, out, err = mergeguard(repo.root, "check", env=env)
    assert code == 3 and out == ""
    assert "git rev-parse printed more than 256 MiB (stopped)" in err


def test_rebase_refuses_a_symbolic_link_loop(repo: RepoBuilder) -> None:
    diverged_branches(repo)
    link = repo.root / VERSIONS / "c7_migration.py"
    link.unlink()
    link.symlink_to("c7_migration.py")
    code, _, err = mergeguard(repo.root, "fix", "--rebase", "main..feature")
    assert code == 3, err
    assert f"cannot follow the symbolic links of {VERSIONS}/c7_migration.py" in err
    assert link.is_symlink()


def test_markdown_escaping_keeps_code_and_identifiers_readable() -> None:
    from mergeguard.report.markdown import escape_text

    assert escape_text("add ix_users_email to `alembic upgrade head`") == (
        "add ix_users_email to `alembic upgrade head`"
    )
    assert escape_text("_x_ *b* [l](u) <i>&amp; stray ` here\nnext\x1b") == (
        r"\_x\_ \*b\* \[l\](u) &lt;i&gt;&amp;amp; stray \` here<br>next\\x1b"
    )
