"""A command pays only for what it uses (issue 12): what each run imports.

Real processes (``python -X importtime -m mergeguard ...``) on a real git
repository holding a project made by ``alembic init``; the modules a run
imported are read from the interpreter's own import log.  Each run's output is
checked too: a command that failed early would import nothing and pass.

The plain text a pipe gets is made without rich; the last tests hold that it
is, byte for byte, what rich prints (without colour, and with it once the
colours are taken out).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from conftest import RepoBuilder, alembic_project, diverged_alembic_project
from rich.console import Console

from mergeguard import codes
from mergeguard.app.options import Options
from mergeguard.app.pipeline import CheckRequest, check
from mergeguard.model import Diagnostic, Location
from mergeguard.report import text

# What no command below may import: the parsers and renderers of other paths,
# the libraries only `apply` and `fix` run, and their packages.
HEAVY = (
    "click",  # no longer the command line's (argparse): nothing may bring it back
    "libcst",
    "sqlglot",
    "mako",
    "rich",
    "alembic",
    "sqlalchemy",
    "mergeguard.scratchdb",
    "mergeguard.fix",
    "mergeguard.databases",
)
# All that `--help` and `COMMAND -h` may import of mergeguard: the command line.
COMMAND_LINE = {
    "mergeguard",
    "mergeguard.__main__",
    "mergeguard.app",
    "mergeguard.app.cli",
    "mergeguard.app.cli_arguments",
    "mergeguard.app.cli_output",
    "mergeguard.app.exit_codes",
    "mergeguard.errors",  # the errors main() turns into messages
}
# What a run in a repository without a pyproject.toml has no use for.
WITHOUT_PYPROJECT = ("tomllib", "tomli")
# the header readers: a warm check reads every script from the cache
WARM_CHECK_UNUSED = (
    "mergeguard.parse.header_walk",
    "mergeguard.parse.header_ast",
    "mergeguard.parse.header_split",
)
# What a check's own modules never import (the command line's click aside, which
# imports inspect): dataclasses costs 6.5 ms with the inspect, ast, dis and tokenize it
# imports, of a warm pre-commit run's ~135 ms (the model's classes are @frozen)
INTROSPECTION = ("dataclasses", "inspect")
COMMANDS = ("heads", "graph", "check", "fix", "apply", "status", "rules", "explain", "demo")
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)$", re.MULTILINE)
# Variables that would change the scenario or the terminal a run sees.
OUTSIDE = ("PRE_COMMIT", "GITHUB_", "MERGEGUARD_", "FORCE_COLOR", "TTY_COMPATIBLE")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoBuilder]:
    """``alembic init``; main and feature each add a revision on a1 (MG102),
    feature's adding a column; feature checked out."""
    repo = RepoBuilder(tmp_path_factory.mktemp("imports") / "repo")
    yield diverged_alembic_project(repo)


def python(repo: RepoBuilder, *args: str, cache: bool = True) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter run with ``args`` in ``repo``, stdout a pipe, in the
    environment of a user's shell (``cache=False``: no parse cache)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE)}
    if not cache:
        env["MERGEGUARD_NO_CACHE"] = "1"
    return subprocess.run(
        [sys.executable, *args],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run(repo: RepoBuilder, *args: str, cache: bool = True) -> tuple[int, str, set[str]]:
    """Exit code, stdout and the modules imported by ``mergeguard ARGS`` with
    stdout a pipe (``cache=False``: nothing read from or written to disk)."""
    done = python(repo, "-X", "importtime", "-m", "mergeguard", *args, cache=cache)
    return done.returncode, done.stdout, set(IMPORT_LINE.findall(done.stderr))


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def ours(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "mergeguard" or m.startswith("mergeguard.")}


@pytest.mark.parametrize("args", [["--help"], ["-h"]] + [[c, "-h"] for c in COMMANDS])
def test_help_imports_only_the_command_line(project: RepoBuilder, args: list[str]) -> None:
    code, out, modules = run(project, *args)
    assert code == 0 and "usage: mergeguard" in out
    assert ours(modules) <= COMMAND_LINE, sorted(ours(modules) - COMMAND_LINE)
    assert heavy(modules) == set()


@pytest.mark.parametrize(
    ("args", "shows"),
    [
        (["heads"], "b2 (head)"),
        (["heads", "--format", "json"], '"mergeguard/heads/1"'),
        (["graph", "--format", "json"], '"b2"'),
        (["graph", "--format", "dot"], "digraph"),
        (["graph", "--format", "mermaid"], "flowchart"),
        (["graph", "main..feature", "--format", "json"], '"c3"'),
    ],
)
def test_reading_commands_import_no_parser_renderer_or_rules(
    project: RepoBuilder, args: list[str], shows: str
) -> None:
    """Every file read from scratch (no cache): the fast header reader only,
    and no rules (``heads`` and ``graph`` judge nothing)."""
    code, out, modules = run(project, *args, cache=False)
    assert code == 0 and shows in out
    assert heavy(modules) == set()
    assert {m for m in modules if m.startswith("mergeguard.rules")} == set()
    assert modules.isdisjoint(WITHOUT_PYPROJECT)


@pytest.mark.parametrize(
    ("args", "shows"),
    [
        (["check", "--format", "json"], '"code": "MG102"'),
        (["check"], "MG102 missing-merge-point"),
        (["check", "main..feature", "--format", "json"], '"code": "MG102"'),
        (["check", "main..feature"], "MG102 missing-merge-point"),
        (["check", "main..feature", "--format", "github"], "::error"),
        (["check", "main..feature", "--format", "sarif"], '"ruleId": "MG102"'),
    ],
)
def test_check_imports_no_heavy_library(project: RepoBuilder, args: list[str], shows: str) -> None:
    """Neither warm (the usual run) nor from scratch, where the operations of
    the revision the range adds are read with ``ast``, not libcst."""
    cold = run(project, *args, cache=False)
    assert cold[:1] == (1,) and shows in cold[1]
    assert heavy(cold[2]) == set()
    run(project, *args)  # fills the cache
    code, out, modules = run(project, *args)
    assert code == 1 and shows in out
    assert heavy(modules) == set()
    assert "mergeguard.rules.example_kit" not in cold[2] | modules  # docs and tests build examples
    assert modules.isdisjoint(WARM_CHECK_UNUSED), sorted(modules & set(WARM_CHECK_UNUSED))
    assert "mergeguard.parse.header_walk" in cold[2]  # the cold run read headers
    assert modules.isdisjoint(WITHOUT_PYPROJECT) and cold[2].isdisjoint(WITHOUT_PYPROJECT)


def test_a_warm_check_imports_no_dataclasses_or_inspect(project: RepoBuilder) -> None:
    """The pipeline, the rules (every unit, which the catalogue imports with
    importlib: the import log does not show them) and the text report, in a
    fresh interpreter: imported, then a warm check of the range and of the
    tree run and printed, without dataclasses or inspect."""
    run(project, "check", "main..feature")  # fills the cache
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "import mergeguard.app.pipeline, mergeguard.rules.run\n"
        f"print(sorted(sys.modules.keys() & {set(INTROSPECTION)!r}))\n"
        "from mergeguard.app.options import Options\n"
        "from mergeguard.app.pipeline import CheckRequest, check\n"
        "from mergeguard.report.render import render, summary\n"
        "for spec in ('main..feature', None):\n"
        "    request = CheckRequest(Options(Path('.')), spec, schema_changes=True)\n"
        "    report = check(request)\n"
        "    print(render('text', report).splitlines()[0], summary('text', report) != '')\n"
        "units = [m for m in sys.modules if m.startswith('mergeguard.rules.mg')]\n"
        "print(len(units) == len(mergeguard.rules.catalogue.RULES) > 20)\n"
        f"print(sorted(sys.modules.keys() & {set(INTROSPECTION)!r}))\n"
    )
    done = python(project, "-c", probe)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == lines[-1] == "[]", lines
    assert all("MG102" in line and line.endswith("True") for line in lines[1:3]), lines
    assert lines[3] == "True"  # every rule unit was imported


def test_a_pyproject_is_read_with_tomllib(tmp_path: Path) -> None:
    """The TOML reader is imported where there is a pyproject.toml to read
    (its settings apply: here a base ref that does not exist)."""
    repo = RepoBuilder(tmp_path / "repo")
    alembic_project(repo)
    repo.write("pyproject.toml", '[tool.mergeguard]\nbase = "no-such-base"\n')
    repo.commit("settings")
    done = python(repo, "-X", "importtime", "-m", "mergeguard", "check")
    assert done.returncode == 3 and "no-such-base" in done.stderr
    assert {"tomllib", "tomli"} & set(IMPORT_LINE.findall(done.stderr))


def test_the_import_log_shows_rich_where_the_tree_uses_it(project: RepoBuilder) -> None:
    """The tree fits its rows to the width with rich, so its run imports it:
    the log the tests above read does show a heavy import when one happens."""
    code, out, modules = run(project, "graph", cache=False)
    assert code == 0 and "b2" in out
    assert {"rich", "rich.console"} <= heavy(modules)


# -- the plain text is rich's text -----------------------------------------------------

AWKWARD = [
    codes.diagnostic(  # ":100:" and ":smile:" are emoji codes to rich's markup
        codes.MG004,
        "b2 needs :smile: and [bold]x[/bold] \\[y] ends in a backslash \\",
        Location(PurePosixPath("versions/a:smile:.py"), 100, 4),
        hint="look at [link=x]this[/link]\\",
        environment="[db]",
    ),
    codes.diagnostic(codes.MG003, "tab\there\x1b[31m and a newline\nhere", None),
    codes.diagnostic(codes.MG008, "a warning " + "wide 漢字 " * 20, severity="warning"),
]


def rich_text(diagnostics: list[Diagnostic], **console: object) -> str:
    out = io.StringIO()
    text.render_diagnostics(Console(file=out, width=30, **console), diagnostics)  # type: ignore[arg-type]
    return out.getvalue()


def test_plain_text_is_what_rich_prints_without_colour() -> None:
    plain = text.diagnostics_text(AWKWARD)
    assert rich_text(AWKWARD) == plain
    second, third, first, hint = plain.splitlines()  # findings without a place first
    assert first.startswith("versions/a:smile:.py:100:4: MG004 missing-parent [[db]] b2 needs")
    assert first.endswith(" [bold]x[/bold] \\[y] ends in a backslash \\")
    assert hint == "  hint: look at [link=x]this[/link]\\"
    assert second == "MG003 duplicate-revision-id tab\\there\\x1b[31m and a newline\\nhere"
    assert third.startswith("MG008") and len(third) > 30  # one line: never wrapped


def test_the_terminal_shows_the_same_text_in_colour() -> None:
    coloured = rich_text(AWKWARD, force_terminal=True, color_system="standard")
    assert "\x1b[1;31mMG004\x1b[0m" in coloured and "\x1b[33mMG008\x1b[0m" in coloured
    assert re.sub("\x1b\\[[0-9;]*m", "", coloured) == text.diagnostics_text(AWKWARD)


def test_a_pipe_gets_the_text_rich_would_print(project: RepoBuilder) -> None:
    """End to end: the text ``check`` pipes equals rich's rendering of its findings."""
    report = check(CheckRequest(Options(Path(project.root)), "main..feature"))
    code, out, _ = run(project, "check", "main..feature")
    assert code == 1 and out == rich_text(list(report.diagnostics)) != ""


def test_status_imports_sqlalchemy_but_nothing_of_apply_or_fix(
    project: RepoBuilder, tmp_path: Path
) -> None:
    """``status`` reads databases (sqlalchemy), never runs migrations (no
    alembic, no scratchdb) nor writes files (no fix, no libcst, no mako)."""
    import sqlite3

    database = tmp_path / "deployed.db"
    sqlite3.connect(database).close()
    code, out, modules = run(project, "status", "--url", f"sqlite:///{database}")
    assert code == 0 and "url1: empty" in out
    assert {"sqlalchemy", "mergeguard.databases.reading"} <= modules
    reader = ("sqlalchemy", "mergeguard.databases")
    assert {m for m in heavy(modules) if not m.startswith(reader)} == set()
