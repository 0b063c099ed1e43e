"""The command line's own contract (argparse since issue 12): where a command
runs (``-C`` before and after it), usage errors, ``--version``, options after
the positional range, and every command's help.

``main`` in this process on real git repositories; a real process where the
console script's exit matters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import RepoBuilder

from mergeguard.app.cli import COMMANDS, main

Captured = tuple[int, str, str]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Captured:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_head(repo: RepoBuilder) -> RepoBuilder:
    """An Alembic layout with one revision, a1."""
    repo.init_alembic()
    repo.migration("a1", None)
    repo.commit("a1")
    return repo


def diverged(repo: RepoBuilder) -> RepoBuilder:
    """main adds c3 and feature b2, both on a1 (MG102 when merged); main checked out."""
    one_head(repo)
    repo.branch("feature")
    repo.migration("b2", "a1")
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("c3", "a1")
    repo.commit("main")
    return repo


def assert_usage_error(done: Captured, command: str, message: str) -> None:
    """Exit 2, nothing on stdout; on stderr the command's usage line and the
    message, never a traceback."""
    code, out, err = done
    assert (code, out) == (2, "")
    assert err.startswith(f"usage: {command} [OPTIONS]")
    assert f"Try '{command} --help' for help." in err
    assert f"{command}: error: " in err and message in err
    assert "Traceback" not in err


# -- -C before and after the command --------------------------------------------------


def test_a_later_c_is_relative_to_the_earlier(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_head(repo)
    assert run(capsys, "-C", str(tmp_path), "heads", "-C", "repo")[:2] == (0, "a1 (head)\n")
    code, _, err = run(capsys, "-C", str(repo.root), "heads", "-C", "nowhere")
    assert code == 3 and str(repo.root / "nowhere") in err


def test_an_absolute_later_c_replaces_the_earlier(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_head(repo)
    elsewhere = str(tmp_path / "not-a-repository")
    assert run(capsys, "-C", elsewhere, "heads", "-C", str(repo.root))[:2] == (0, "a1 (head)\n")


def test_c_before_the_command_alone_and_relative_to_the_working_directory(
    repo: RepoBuilder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one_head(repo)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "-C", "repo", "heads")[:2] == (0, "a1 (head)\n")
    assert run(capsys, "heads", "-C", "repo")[:2] == (0, "a1 (head)\n")


def test_demo_dir_is_relative_to_c(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-C", str(tmp_path), "demo", "here")
    assert code == 0 and "MG102" in out
    assert (tmp_path / "here" / "alembic.ini").is_file()
    assert str((tmp_path / "here").resolve()) in err


def test_c_naming_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a directory")
    message = f"argument -C: Directory '{a_file}' is a file."
    assert_usage_error(run(capsys, "-C", str(a_file), "heads"), "mergeguard", message)
    assert_usage_error(run(capsys, "heads", "-C", str(a_file)), "mergeguard heads", message)


# -- usage errors: exit 2, the usage line and a message -------------------------------


@pytest.mark.parametrize(
    ("args", "command", "message"),
    [
        (["heads", "--bogus"], "mergeguard heads", "unrecognized arguments: --bogus"),
        (["--bogus", "heads"], "mergeguard", "unrecognized arguments: --bogus"),
        (["heads", "--form", "json"], "mergeguard heads", "unrecognized arguments: --form"),
        (["check", "--stage"], "mergeguard check", "unrecognized arguments: --stage"),
        (["heads", "extra"], "mergeguard heads", "unrecognized arguments: extra"),
        (
            ["heads", "--format", "yaml"],
            "mergeguard heads",
            "argument --format: invalid choice: 'yaml' (choose from 'text', 'json')",
        ),
        (["graph", "--limit", "0"], "mergeguard graph", "0 is not in the range x>=1."),
        (["graph", "--limit", "many"], "mergeguard graph", "'many' is not a valid integer."),
        (["apply", "--orders", "721"], "mergeguard apply", "721 is not in the range 1<=x<=720"),
        (["apply", "--timeout", "0.5"], "mergeguard apply", "0.5 is not in the range x>=1."),
        (["explain"], "mergeguard explain", "the following arguments are required: RULE"),
        (["explain", "MG999"], "mergeguard explain", "no rule is named 'MG999'"),
        (["check", "--select", "MG999"], "mergeguard check", "argument --select: no rule"),
        (["fix"], "mergeguard fix", "choose --merge or --rebase"),
        (["graph", "a..b", "--ref", "a"], "mergeguard graph", "give either RANGE or --ref"),
        (["heads", "--ref"], "mergeguard heads", "argument --ref: expected one argument"),
        (["nope"], "mergeguard", "argument COMMAND: invalid choice: 'nope'"),
        (["-C", "."], "mergeguard", "missing command"),
    ],
)
def test_a_usage_error_is_exit_2_with_a_message(
    args: list[str], command: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_usage_error(run(capsys, *args), command, message)


def test_a_usage_error_names_where_help_is(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "heads", "--format", "yaml")
    usage, hint, blank, error = err.splitlines()
    assert (usage, hint, blank) == (
        "usage: mergeguard heads [OPTIONS]",
        "Try 'mergeguard heads --help' for help.",
        "",
    )
    assert error.startswith("mergeguard heads: error: argument --format")


def test_no_arguments_print_the_help_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert (code, out) == (2, "") and err.startswith("usage: mergeguard [OPTIONS] COMMAND")
    assert "Keep Alembic migration histories mergeable." in err


def test_a_real_process_reports_a_usage_error(tmp_path: Path) -> None:
    """Through the console script's entry: exit 2 and the message, no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "mergeguard", "heads", "--format", "yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert "invalid choice: 'yaml'" in done.stderr and "Traceback" not in done.stderr


# -- --version ------------------------------------------------------------------------


def test_version_is_the_installed_package_s(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"mergeguard, version {version('mergeguard')}\n", "")


def test_version_in_a_real_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERGEGUARD_")}
    done = subprocess.run(
        [sys.executable, "-m", "mergeguard", "--version"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, f"mergeguard, version {version('mergeguard')}\n")


# -- options after the positional range -----------------------------------------------


def test_options_may_follow_the_range(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    where = ("-C", str(repo.root))
    after = run(capsys, "check", "main..feature", "--format", "json", *where, "--select", "MG1")
    before = run(capsys, "check", "--format", "json", *where, "--select", "MG1", "main..feature")
    assert after == before and after[0] == 1
    assert [f["code"] for f in json.loads(after[1])["findings"]] == ["MG102"]
    graph = run(capsys, "graph", "main..feature", "--format", "json", "--limit", "1", *where)
    assert graph[0] == 0 and json.loads(graph[1])["environments"]


def test_repeated_options_add_up(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    diverged(repo)
    where = ("-C", str(repo.root))
    code, out, _ = run(
        capsys,
        "check",
        "main..feature",
        "--format",
        "json",
        "--select",
        "MG0",
        "--select",
        "MG1",
        *where,
    )
    assert code == 1 and [f["code"] for f in json.loads(out)["findings"]] == ["MG102"]
    assert (
        run(capsys, "check", "main..feature", "--ignore", "MG0", "--ignore", "MG102", *where)[0]
        == 0
    )


# -- help ------------------------------------------------------------------------------


def summary(handler: object) -> str:
    return " ".join(str(getattr(handler, "__doc__", "")).split("\n\n")[0].split())


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
@pytest.mark.parametrize("option", ["-h", "--help"])
def test_every_command_has_help(
    command: str, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = next(c.handler for c in COMMANDS if c.name == command)
    code, out, err = run(capsys, command, option)
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: mergeguard {command} [OPTIONS]")
    assert summary(handler) in out and "-h, --help" in out


def test_the_help_lists_every_command_with_its_summary(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a summary a line
    code, out, _ = run(capsys, "--help")
    assert code == 0 and out.startswith("usage: mergeguard [OPTIONS] COMMAND [ARGS]...")
    listed = [line.split(None, 1) for line in out.split("commands:\n", 1)[1].splitlines()]
    assert listed == sorted([c.name, summary(c.handler)] for c in COMMANDS)
    assert {c.name for c in COMMANDS} == {
        "heads",
        "graph",
        "check",
        "demo",
        "fix",
        "apply",
        "status",
        "rules",
        "explain",
    }


def test_defaults_are_shown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line an option
    out = run(capsys, "apply", "-h")[1]
    assert "(default: text)" in out and "(default: 6)" in out and "(default: 300.0)" in out
    assert "--format {text,json,github,sarif,markdown}" in out
    assert "(default: tree)" in run(capsys, "graph", "--help")[1]


# -- values that look like options, output a stream cannot encode --------------------


def test_an_option_takes_the_next_argument_whatever_it_looks_like(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """As with click: ``--base -x`` is the base ``-x`` (an unknown ref, exit
    3), not a missing value; ``-m -x`` a message; after the range too."""
    diverged(repo)
    code, _, err = run(capsys, "check", "-C", str(repo.root), "--base", "-x")
    assert code == 3 and "unknown git ref '-x'" in err
    code, _, err = run(capsys, "-C", str(repo.root), "check", "main..feature", "--select", "-x")
    assert code == 2 and "no rule is named -x" in err
    code, out, err = run(
        capsys, "fix", "-C", str(repo.root), "--merge", "--dry-run", "-m", "-x", "main..feature"
    )
    assert code == 1 and "cannot fix: no script.py.mako" in err  # -m took "-x": fix ran
    code, _, err = run(capsys, "fix", "-C", str(repo.root), "--merge", "-m", "", "main..feature")
    assert code == 1 and "cannot fix: no script.py.mako" in err  # an empty message too
    assert_usage_error(run(capsys, "fix", "--merge", "-m"), "mergeguard fix", "expected one")


def test_output_a_stream_cannot_encode_is_replaced_not_an_error(tmp_path: Path) -> None:
    """An ASCII stdout (PYTHONIOENCODING=ascii): what it cannot encode is
    written replaced, as click wrote it, and the command succeeds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERGEGUARD_")}
    env["PYTHONIOENCODING"] = "ascii"
    done = subprocess.run(
        [sys.executable, "-m", "mergeguard", "rules", "--markdown"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert b"MG102" in done.stdout and b"?" in done.stdout
    assert max(done.stdout) < 128  # ASCII, as the stream asked
