"""``fix --merge`` runs the project's ``[post_write_hooks]`` as ``alembic merge``
does: real black (console_scripts), real ruff (module), an executable of the
project's own (exec); real Alembic as the oracle."""

from __future__ import annotations

import stat
import sys
from pathlib import Path, PurePosixPath

import pytest
from conftest import RepoBuilder
from conftest import alembic_project as project
from conftest import alembic_revision as revision
from conftest import run_alembic as alembic

from mergeguard.app.cli import main
from mergeguard.config.alembic_ini import DiscoveryContext
from mergeguard.config.write_hooks import WriteHook, hooks_of
from mergeguard.errors import MergeguardError
from mergeguard.fix import hooks
from mergeguard.git.snapshot import MemoryTree
from mergeguard.model import Environment

VERSIONS = Path("migrations") / "versions"
P = PurePosixPath

# An executable of the project: appends a line naming the directory it ran in.
STAMP = f"""#!{sys.executable}
import os, sys
with open(sys.argv[-1], "a") as file:
    file.write("# stamped in " + os.path.basename(os.getcwd()) + "\\n")
"""
# Prints something hostile and fails.
FAILING = f"""#!{sys.executable}
import sys
print("cannot format\\x1b[31m", sys.argv[-1].rsplit("/", 1)[-1])
sys.exit(3)
"""
HOOKS = """hooks = black, ruff, stamp
black.type = console_scripts
black.entrypoint = black
black.options = -l 79 REVISION_SCRIPT_FILENAME
ruff.type = module
ruff.module = ruff
ruff.options = format --no-cache REVISION_SCRIPT_FILENAME
stamp.type = exec
stamp.executable = %(here)s/tools/stamp
stamp.cwd = %(here)s/tools
stamp.options = --quiet REVISION_SCRIPT_FILENAME
"""


def executable(repo: RepoBuilder, path: str, text: str) -> None:
    target = repo.write(path, text)
    target.chmod(target.stat().st_mode | stat.S_IXUSR)


def with_hooks(repo: RepoBuilder, hooks_text: str = HOOKS) -> None:
    """Two heads (b2, c7) and ``hooks_text`` as the ini's [post_write_hooks]."""
    project(repo)
    revision(repo, "b2", "left")  # before the hooks: `alembic revision` runs them too
    revision(repo, "c7", "right", head="a1")
    executable(repo, "tools/stamp", STAMP)
    executable(repo, "tools/failing", FAILING)
    ini = repo.root / "alembic.ini"
    text = ini.read_text()
    assert text.count("[post_write_hooks]\n") == 1
    ini.write_text(text.replace("[post_write_hooks]\n", "[post_write_hooks]\n" + hooks_text))
    repo.commit("two heads and the hooks")


def fix(capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str) -> tuple[int, str]:
    code = main(
        ["fix", "--merge", "-m", "merge heads", "--rev-id", "m1", *args, "-C", str(repo.root)]
    )
    return code, capsys.readouterr().err


def merge_files(repo: RepoBuilder) -> list[Path]:
    return sorted((repo.root / VERSIONS).glob("m1_*.py"))


def undated(data: bytes) -> list[bytes]:
    return [line for line in data.splitlines() if not line.startswith(b"Create Date:")]


def test_hooks_make_the_file_alembic_merge_makes(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    with_hooks(repo)
    code, err = fix(capsys, repo)
    assert code == 0, err
    assert "ran post-write hook 'black' (console_scripts black)" in err
    assert "ran post-write hook 'stamp' (exec" in err
    [ours] = merge_files(repo)
    mine = ours.read_bytes()
    assert b'revision: str = "m1"' in mine  # black's quotes: the hook ran on the file
    assert mine.endswith(b"# stamped in tools\n")  # exec, last, in its cwd
    ours.unlink()

    result = alembic(repo, "merge", "-m", "merge heads", "--rev-id", "m1", "heads")
    assert result.returncode == 0, result.stderr
    [theirs] = merge_files(repo)
    assert theirs.name == ours.name
    assert undated(theirs.read_bytes()) == undated(mine)


def test_a_hook_runs_where_alembic_finds_its_ini(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """An environment in a sub-directory, mergeguard run from the top (as
    pre-commit runs it): a hook's relative executable and its default cwd
    are the ini's directory, where `alembic merge` runs."""
    with_hooks(repo, "hooks = stamp\nstamp.type = exec\nstamp.executable = tools/stamp\n")
    (repo.root / "svc").mkdir()
    for name in ("alembic.ini", "migrations", "tools"):
        repo.git("mv", name, f"svc/{name}")
    repo.commit("the environment in a sub-directory")
    code, err = fix(capsys, repo)
    assert code == 0, err
    [written] = sorted((repo.root / "svc" / VERSIONS).glob("m1_*.py"))
    assert written.read_bytes().endswith(b"# stamped in svc\n")


def test_a_failing_hook_keeps_the_file_and_exits_1(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    with_hooks(
        repo,
        "hooks = failing stamp\nfailing.type = exec\nfailing.executable = %(here)s/tools/failing\n"
        "stamp.type = exec\nstamp.executable = %(here)s/tools/stamp\n",
    )
    code, err = fix(capsys, repo)
    assert code == 1
    [written] = merge_files(repo)
    assert b"stamped" not in written.read_bytes()  # the hook after the failing one did not run
    assert "post-write hook 'failing' (exec " in err and "exited with status 3" in err
    assert "cannot format\\x1b[31m m1_merge_heads.py" in err  # its output, escaped
    assert "\x1b" not in err
    assert "the 1 hook(s) after it did not run" in err
    assert [line.split()[0] for line in alembic(repo, "heads").stdout.splitlines()] == ["m1"]


def test_no_hooks_skips_them(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    with_hooks(repo, "hooks = broken\nbroken.type = exec\n")  # not even read with --no-hooks
    code, err = fix(capsys, repo, "--no-hooks")
    assert code == 0, err
    [written] = merge_files(repo)
    assert b"revision: str = 'm1'" in written.read_bytes() and "hook" not in err


@pytest.mark.parametrize(
    ("hooks_text", "line", "problem"),
    [
        ("hooks = black\nblack.entrypoint = black\n", 2, "has no type"),
        ("hooks = black\nblack.type = console_scripts\n", 3, "needs black.entrypoint"),
        ("hooks = fmt\nfmt.type = reformat\nfmt.executable = x\n", 3, "has type 'reformat'"),
        (
            "hooks = nope\nnope.type = console_scripts\nnope.entrypoint = no-such-script\n",
            3,
            "could not find entrypoint console_scripts.no-such-script",
        ),
        ("hooks = m\nm.type = module\nm.module = no_such_module_x\n", 3, "could not find module"),
        ("hooks = q\nq.type = exec\nq.executable = x\nq.options = 'open\n", 3, "cannot be split"),
    ],
)
def test_a_hook_config_error_names_file_and_line_and_writes_nothing(
    repo: RepoBuilder,
    capsys: pytest.CaptureFixture[str],
    hooks_text: str,
    line: int,
    problem: str,
) -> None:
    with_hooks(repo, hooks_text)
    header = (repo.root / "alembic.ini").read_text().splitlines().index("[post_write_hooks]") + 1
    code, err = fix(capsys, repo)
    assert code == 3
    assert f"alembic.ini:{header + line - 1}: post-write hook" in err and problem in err
    assert merge_files(repo) == []


def test_hooks_from_tool_alembic(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    project(repo, "pyproject")
    revision(repo, "b2", "left")
    revision(repo, "c7", "right", head="a1")
    executable(repo, "tools/stamp", STAMP)
    toml = repo.root / "pyproject.toml"
    toml.write_text(
        toml.read_text() + '\n[[tool.alembic.post_write_hooks]]\nname = "stamp"\ntype = "exec"\n'
        'executable = "%(here)s/tools/stamp"\n'
        '\n[[tool.alembic.post_write_hooks]]\nname = "black"\n'
        'entrypoint = "black"\n'
    )
    repo.commit("two heads")
    lines = toml.read_text().splitlines()
    tables = [n for n, text in enumerate(lines, 1) if text == "[[tool.alembic.post_write_hooks]]"]
    second = tables[1]
    code, err = fix(capsys, repo)
    assert code == 3 and f"pyproject.toml:{second}: post-write hook 'black' has no type" in err
    toml.write_text(
        toml.read_text().replace('name = "black"\n', 'name = "black"\ntype = "console_scripts"\n')
    )
    code, err = fix(capsys, repo)
    assert code == 0, err
    [written] = merge_files(repo)
    data = written.read_bytes()
    assert data.endswith(b"# stamped in repo\n") and b'revision: str = "m1"' in data
    written.unlink()
    result = alembic(repo, "merge", "-m", "merge heads", "--rev-id", "m1", "heads")
    assert result.returncode == 0, result.stderr
    [theirs] = merge_files(repo)
    assert undated(theirs.read_bytes()) == undated(data)


def test_check_never_runs_hooks(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    with_hooks(
        repo,
        "hooks = touch, broken\ntouch.type = exec\ntouch.executable = %(here)s/tools/stamp\n"
        "touch.options = REVISION_SCRIPT_FILENAME %(here)s/marker.py\nbroken.type = nothing\n",
    )
    marker = repo.write("marker.py", "")
    assert main(["check", "-C", str(repo.root)]) == 1  # the two heads: MG101, not the hooks
    assert main(["fix", "--merge", "--dry-run", "-C", str(repo.root)]) == 0
    capsys.readouterr()
    assert marker.read_text() == "" and merge_files(repo) == []


def test_the_hooks_order_and_options_as_alembic_reads_them() -> None:
    ini = (
        "[alembic]\nscript_location = m\n\n[post_write_hooks]\nhooks = b,a  c\n"
        "a.type = exec\na.executable = %(here)s/x\nb.type = module\nb.module = ruff\n"
        "b.options = check REVISION_SCRIPT_FILENAME\nc.type = console_scripts\nc.entrypoint = e\n"
    )
    tree = MemoryTree({"sub/alembic.ini": ini})
    env = Environment("alembic", (P("sub/m/versions"),), P("sub/m"), P("sub/alembic.ini"))
    found = hooks_of(DiscoveryContext(tree), env)
    assert [(h.name, h.type, h.line) for h in found] == [
        ("b", "module", 8),
        ("a", "exec", 6),
        ("c", "console_scripts", 11),
    ]
    assert found[1].option("executable") == "/@mergeguard-repository@/sub/x"
    no_config = Environment("alembic", (P("v"),))
    assert hooks_of(DiscoveryContext(tree), no_config) == ()


def test_a_hook_that_runs_too_long_is_stopped(tmp_path: Path) -> None:
    hook = WriteHook(
        "slow",
        "exec",
        (
            ("executable", sys.executable),
            ("options", "-c 'import time; time.sleep(60)' REVISION_SCRIPT_FILENAME"),
        ),
        P("alembic.ini"),
        4,
    )
    [command] = hooks.prepare([hook], tmp_path)
    [result] = hooks.run([command], tmp_path / "file.py", timeout=0.5)
    assert result.failure == "did not finish within 0.5 s and was stopped"


def test_a_missing_executable_is_a_failure_not_a_traceback(tmp_path: Path) -> None:
    hook = WriteHook("gone", "exec", (("executable", "/nonexistent/fmt"),), P("alembic.ini"))
    [result] = hooks.run(hooks.prepare([hook], tmp_path), tmp_path / "f.py")
    assert result.failure is not None and result.failure.startswith("cannot be started")


def test_prepare_errors_name_the_hook() -> None:
    hook = WriteHook("x", "console_scripts", (("entrypoint", "nope-nope"),), P("a.ini"), 7)
    with pytest.raises(MergeguardError, match=r"a.ini:7: post-write hook 'x'"):
        hooks.prepare([hook], Path("."))


@pytest.mark.parametrize(
    ("files", "config", "expected"),
    [
        (
            {
                "alembic.ini": "[alembic]\nscript_location = m\n[post_write_hooks]\nhooks = b\n"
                "b.type = exec\nb.executable = x\nb.options = 100%\n"
            },
            "alembic.ini",
            "alembic.ini:7: [post_write_hooks] cannot be read",
        ),
        (
            {
                "pyproject.toml": '[tool.alembic]\nscript_location = "m"\n\n'
                'post_write_hooks = [{name = "a", type = "exec", executable = 3}]\n'
            },
            "pyproject.toml",
            "pyproject.toml:4: post_write_hooks option executable must be a string",
        ),
        (
            {
                "pyproject.toml": '[tool.alembic]\nscript_location = "m"\n'
                '[[tool.alembic.post_write_hooks]]\ntype = "exec"\n'
            },
            "pyproject.toml",
            "pyproject.toml:3: post_write_hooks entry 1 in [tool.alembic] has no name",
        ),
    ],
)
def test_unreadable_hook_values_name_file_and_line(
    files: dict[str | PurePosixPath, str], config: str, expected: str
) -> None:
    env = Environment("alembic", (P("m/versions"),), P("m"), P(config))
    with pytest.raises(MergeguardError) as raised:
        hooks_of(DiscoveryContext(MemoryTree(files)), env)
    assert str(raised.value).startswith(expected)


def test_the_hook_timeout_is_a_number_of_seconds() -> None:
    assert hooks.hook_timeout({}) == hooks.TIMEOUT_SECONDS
    assert hooks.hook_timeout({"MERGEGUARD_HOOK_TIMEOUT": " 2.5 "}) == 2.5
    for bad in ("soon", "0", "-1", "inf"):
        with pytest.raises(MergeguardError, match="MERGEGUARD_HOOK_TIMEOUT"):
            hooks.hook_timeout({"MERGEGUARD_HOOK_TIMEOUT": bad})
