"""The command line (click).  Contract: see DESIGN.md "Command line".

Exit codes: 0 clean; 1 findings at error severity; 2 usage error; 3 could not
run.  Findings go to stdout in the chosen format; summaries and errors go to
stderr.  Heavy modules (git, libcst, rich) are imported inside commands so
that ``mergeguard --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from mergeguard.app.demo import DemoRepository
    from mergeguard.app.workspace import Options, Workspace
    from mergeguard.graph.scenario import MergeScenario
    from mergeguard.model import Diagnostic

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_CANNOT_RUN = 0, 1, 2, 3

F = TypeVar("F", bound=Callable[..., Any])


DIRECTORY = click.Path(file_okay=False, path_type=Path)


def common_options(func: F) -> F:
    """``-C``, ``-c``, ``-n``, ``--versions``, ``--recursive``, ``--base``: on every command."""
    decorators = [
        click.option(
            "-C",
            "directory",
            type=DIRECTORY,
            default=None,
            help="Run as if started in DIR (relative to a -C before the command).",
        ),
        click.option(
            "-c",
            "--config",
            "config",
            type=click.Path(path_type=Path),
            default=None,
            help="Alembic ini file (default: discovered).",
        ),
        click.option(
            "-n",
            "--name",
            "name",
            default=None,
            help="Ini section of the environment (like alembic -n).",
        ),
        click.option(
            "--versions",
            "versions",
            multiple=True,
            type=click.Path(path_type=Path),
            help="Versions directory (repeatable); bypasses discovery.",
        ),
        click.option(
            "--recursive",
            "recursive",
            is_flag=True,
            help="Read version directories recursively (Alembic's "
            "recursive_version_locations = true).",
        ),
        click.option("--base", "base", default=None, help="Base ref for commands without a range."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def make_options(
    directory: Path | None = None,
    config: Path | None = None,
    name: str | None = None,
    versions: Sequence[Path] = (),
    base: str | None = None,
    recursive: bool = False,
) -> Options:
    from mergeguard.app.workspace import Options

    return Options(
        start_directory(directory), config, name, tuple(versions), base, recursive=recursive
    )


def start_directory(given: Path | None) -> Path:
    """Where the command runs: ``-C`` before the command and ``-C`` after it
    combine as git's successive ``-C`` options do (``mergeguard -C a heads -C
    b`` runs in a/b; an absolute later one replaces the earlier)."""
    context = click.get_current_context(silent=True)
    before = context.find_root().params.get("directory") if context else None
    parts = [part for part in (before, given) if part is not None]
    return Path(*parts) if parts else Path(".")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mergeguard", prog_name="mergeguard")
@click.option(
    "-C",
    "directory",
    type=DIRECTORY,
    default=None,
    help="Run as if started in DIR (as git -C; a -C after the command is relative to it).",
)
def cli(directory: Path | None) -> None:
    """Keep Alembic migration histories mergeable.

    Reads migration files statically (never imports them) at any git ref, and
    reports what a merge will do to the revision graph before it happens.
    """


FORMAT_HEADS = click.Choice(["text", "json"])
FORMAT_GRAPH = click.Choice(["tree", "json", "dot", "mermaid"])


@cli.command()
@click.option("--ref", default=None, help="Read this commit instead of the working tree.")
@click.option("--format", "fmt", type=FORMAT_HEADS, default="text", show_default=True)
@common_options
def heads(ref: str | None, fmt: str, **common: Any) -> None:
    """Show the heads of every environment, like `alembic heads`."""
    from mergeguard.report import jsonout, text

    reads, diagnostics = _read(ref, common)
    if fmt == "json":
        click.echo(jsonout.heads_document(reads, diagnostics))
    else:
        click.echo(text.heads_text(reads), nl=False)
        if diagnostics:
            text.render_diagnostics(_console(), diagnostics)
        _summary(diagnostics)
    _finish(diagnostics)


@cli.command()
@click.argument("range_spec", metavar="[RANGE]", required=False)
@click.option("--ref", default=None, help="Read this commit instead of the working tree.")
@click.option("--format", "fmt", type=FORMAT_GRAPH, default="tree", show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Only the N newest revisions (in the tree's order).",
)
@common_options
def graph(
    range_spec: str | None, ref: str | None, fmt: str, limit: int | None, **common: Any
) -> None:
    """Draw the revision graph: a tree, JSON, Graphviz dot or Mermaid.

    The tree prints one revision a line, newest first (like `alembic history`),
    with a new column only where the history forks.  RANGE is A..B: draw what
    merging A and B would leave, marking with `+` the revisions each side adds.
    """
    from mergeguard.report import graphviews, text

    reads, diagnostics, marks = _graph_reads(range_spec, ref, common)
    if fmt == "json":
        click.echo(graphviews.graph_document(reads, diagnostics, marks, limit))
    elif fmt == "dot":
        click.echo(graphviews.dot(reads, marks, limit), nl=False)
    elif fmt == "mermaid":
        click.echo(graphviews.mermaid(reads, marks, limit), nl=False)
    else:
        console = _console()
        for read in reads:
            console.print(graphviews.tree(read, marks, limit))
        text.render_diagnostics(console, diagnostics)
        _summary(diagnostics)
    _finish(diagnostics)


def _graph_reads(
    range_spec: str | None, ref: str | None, common: dict[str, Any]
) -> tuple[tuple[Any, ...], tuple[Diagnostic, ...], Any]:
    """What ``graph`` draws: one snapshot (``--ref``, else the working tree),
    or the merged side of a range with the revisions each side adds."""
    from mergeguard.app.workspace import Workspace
    from mergeguard.graph.environments import all_diagnostics
    from mergeguard.report.graphviews import range_marks

    if range_spec is None:
        reads, diagnostics = _read(ref, common)
        return reads, diagnostics, None
    if ref is not None:
        raise click.UsageError("give either RANGE or --ref, not both")
    if ".." not in range_spec:
        raise click.BadParameter(
            f"{range_spec!r} is not a range A..B (to draw one commit: --ref {range_spec})",
            param_hint="RANGE",
        )
    workspace = Workspace(make_options(**common), warn=_note)
    scenario = workspace.scenario(range_spec)
    reads = tuple(scenario.merged.reads.values())
    marks = range_marks(scenario)
    workspace.close()
    return reads, all_diagnostics(reads), marks


FORMAT_CHECK = click.Choice(["text", "json", "github", "sarif", "markdown"])


def _selectors(values: Sequence[str]) -> tuple[str, ...]:
    """``--select MG1,MG2 --select x`` -> ("MG1", "MG2", "x"); unknown ones are
    a usage error (a typo must not silence a rule)."""
    from mergeguard.rules.run import unknown_selectors

    found = tuple(p.strip() for v in values for p in v.split(",") if p.strip())
    unknown = unknown_selectors(found)
    if unknown:
        raise click.BadParameter(f"no rule is named {', '.join(unknown)} (see `mergeguard rules`)")
    return found


@cli.command()
@click.argument("range_spec", metavar="[RANGE]", required=False)
@click.option("--staged", is_flag=True, help="Check the index instead of the working tree.")
@click.option("--format", "fmt", type=FORMAT_CHECK, default="text", show_default=True)
@click.option("--select", multiple=True, help="Only these rules (code, prefix or name).")
@click.option("--ignore", multiple=True, help="Skip these rules (code, prefix or name).")
@click.option(
    "--apply",
    "apply_",
    is_flag=True,
    help="Also prove the result on a scratch database (see `mergeguard apply`).",
)
@click.option("--url", default=None, help="With --apply: the database server to use.")
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also append the Markdown report to FILE (e.g. $GITHUB_STEP_SUMMARY).",
)
@common_options
def check(
    range_spec: str | None,
    staged: bool,
    fmt: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    apply_: bool,
    url: str | None,
    summary: Path | None,
    **common: Any,
) -> None:
    """Predict what merging does to the revision graph.

    RANGE is A..B (or A...B): B is checked against A from their merge base, and
    their merge is predicted.  Without RANGE: a merge in progress, else
    pre-commit's pushed refs, else the working tree (or --staged index) against
    --base / [tool.mergeguard] base / the upstream branch.  Under pre-commit
    (PRE_COMMIT=1) the index is checked, as with --staged.
    """
    with _annotated_errors(fmt, summary):
        diagnostics = run_check(
            range_spec,
            staged=staged,
            fmt=fmt,
            select=select,
            ignore=ignore,
            apply_url=url if apply_ else None,
            apply=apply_,
            summary=summary,
            **common,
        )
    _finish(diagnostics)


def _note(message: str) -> None:
    """A note for the user on stderr (stdout is the findings)."""
    click.echo(f"mergeguard: {_printable(message)}", err=True)


@contextmanager
def _annotated_errors(fmt: str, summary: Path | None = None) -> Iterator[None]:
    """With ``--format github``, a could-not-run error is also printed as an
    ``::error::`` workflow command on stdout, so the pull request shows it;
    with ``--summary`` it is appended there too (the message and exit code
    stay those of ``main``)."""
    from mergeguard.errors import MergeguardError

    try:
        yield
    except MergeguardError as error:
        if fmt == "github":
            from mergeguard.report.github import cannot_run

            click.echo(cannot_run(error.message, error.hint))
        if summary is not None:
            from mergeguard.report import markdown

            try:
                _append(summary, markdown.cannot_run(error.message, error.hint))
            except MergeguardError as unwritable:  # the first error is the one to report
                click.echo(f"mergeguard: {_printable(unwritable.message)}", err=True)
        raise


def _append(path: Path, text: str) -> None:
    """Append ``text`` to a summary file (GitHub collects the job summary from
    it; other steps may have written there first)."""
    try:
        with path.open("a", encoding="utf-8") as handle:
            if handle.tell():  # after another step's summary: a blank line between
                handle.write("\n")
            handle.write(text)
    except OSError as error:
        from mergeguard.errors import MergeguardError

        raise MergeguardError(
            f"cannot write the summary to {path}: {error.strerror}",
            hint="pass a writable file with --summary FILE",
        ) from error


def run_check(
    range_spec: str | None,
    *,
    staged: bool = False,
    fmt: str = "text",
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    apply: bool = False,
    apply_url: str | None = None,
    summary: Path | None = None,
    **common: Any,
) -> tuple[Diagnostic, ...]:
    """The body of ``check``: judge the scenario, print the findings, and
    return them (the caller decides the exit code; ``demo`` uses it too)."""
    from mergeguard.app.workspace import Workspace
    from mergeguard.rules.run import evaluate

    chosen, skipped = _selectors(select), _selectors(ignore)
    workspace = Workspace(make_options(**common), warn=_note)
    scenario = workspace.scenario(range_spec, staged=staged)
    selection = workspace.selection(chosen, skipped, staged=staged)
    diagnostics = evaluate(scenario, selection)
    if apply:  # the static rules first, then the database
        applied = _apply(scenario, apply_url, 6, 300.0)
        diagnostics += tuple(d for d in applied if selection.allows(d.code, d.name))
    wants_changes = fmt in ("text", "markdown") or summary is not None
    changes = _schema_changes(scenario, selection) if wants_changes else {}
    workspace.close()
    _emit_check(fmt, scenario, diagnostics, changes)
    if summary is not None:
        from mergeguard.report import formats

        _append(summary, formats.render("markdown", scenario, diagnostics, changes))
    return diagnostics


def _schema_changes(scenario: Any, selection: Any) -> dict[str, dict[str, list[str]]]:
    """What each side does to the schema, when the schema rules are selected."""
    from mergeguard.rules.run import SCHEMA_RULES
    from mergeguard.rules.schema import schema_changes

    if not any(selection.allows(r.code, r.name) for r in SCHEMA_RULES):
        return {}
    return schema_changes(scenario)


@cli.command()
@click.argument(
    "directory",
    metavar="[DIR]",
    required=False,
    type=click.Path(path_type=Path),
)
def demo(directory: Path | None) -> None:
    """Show mergeguard on a throwaway repository.

    Builds a git repository in DIR (default: a new temporary directory, kept
    so you can look around) where branches `main` and `feature` each add a
    migration on the same parent, then runs `mergeguard check main..feature`
    on it.  Exit 0 when the demo shows what it should (MG102).
    """
    from mergeguard.app import demo as demo_repository

    if directory is not None:
        directory = start_directory(directory)  # relative to `mergeguard -C DIR demo`
        reason = demo_repository.unusable_reason(directory)
        if reason:
            raise click.BadParameter(f"{reason}; pass a new or empty directory", param_hint="DIR")
    built = demo_repository.build(directory)
    _demo_story(built)
    diagnostics = run_check(demo_repository.RANGE, directory=built.root)
    if not any(d.code == "MG102" for d in diagnostics):
        click.echo("mergeguard demo: the check did not report MG102 as it should", err=True)
        raise SystemExit(EXIT_CANNOT_RUN)
    _demo_next_steps(built)


def _demo_story(built: DemoRepository) -> None:
    """The narrative before the findings (stderr: stdout is the findings)."""
    base, ours, theirs = built.base, built.ours, built.theirs
    lines = [
        f"mergeguard demo: a throwaway git repository in {built.root}",
        "",
        f"  main     {base.revision} {base.message} <- {theirs.revision} {theirs.message}",
        f"  feature  {base.revision} {base.message} <- {ours.revision} {ours.message}",
        "",
        f"Two branches each added a migration on {base.revision}; git merges them cleanly",
        "(they are different files), but Alembic would then have two heads and",
        "`alembic upgrade head` would fail.  Here is what mergeguard sees:",
        "",
        "$ mergeguard check main..feature",
    ]
    click.echo("\n".join(lines), err=True)


def _demo_next_steps(built: DemoRepository) -> None:
    """The commands to try next, after the findings."""
    import shlex

    steps = [
        (
            "git switch feature && mergeguard fix --rebase main..feature",
            f"re-point {built.ours.revision} onto {built.theirs.revision}",
        ),
        ("git merge feature && mergeguard fix --merge", "or merge, then write the merge revision"),
    ]
    width = max(len(command) for command, _ in steps)
    lines = ["", "Next, try the fixes in the demo repository:"]
    lines.append(f"  cd {shlex.quote(str(built.root))}")
    lines += [f"  {command.ljust(width)}   # {why}" for command, why in steps]
    sys.stdout.flush()
    click.echo("\n".join(lines), err=True)


def _emit_check(
    fmt: str,
    scenario: Any,
    diagnostics: tuple[Diagnostic, ...],
    changes: dict[str, dict[str, list[str]]],
) -> None:
    from mergeguard.report import jsonout, text

    if fmt == "json":
        click.echo(jsonout.check_document(scenario, diagnostics))
        return
    if fmt == "text":
        text.render_diagnostics(_console(), diagnostics)
        for line in text.schema_lines(changes):
            click.echo(line, err=True)
    else:
        from mergeguard.report import formats

        click.echo(formats.render(fmt, scenario, diagnostics, changes), nl=False)
    click.echo(f"{text.summary_line(diagnostics)} ({text.describe(scenario)})", err=True)


@cli.command()
@click.argument("range_spec", metavar="[RANGE]", required=False)
@click.option("--merge", is_flag=True, help="Write a merge revision joining the heads.")
@click.option(
    "--rebase",
    is_flag=True,
    help="Re-point this branch's new revisions onto the other side's head.",
)
@click.option("-m", "--message", default=None, help="Message of the merge revision.")
@click.option("--rev-id", default=None, help="Revision id of the merge revision.")
@click.option(
    "--allow-conflicts",
    is_flag=True,
    help="Exit 0 even when the joined branches conflict in the schema (--merge); "
    "re-point them anyway (--rebase).",
)
@click.option("--dry-run", is_flag=True, help="Print the change as a diff; write nothing.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when files were changed.")
@common_options
def fix(
    range_spec: str | None,
    merge: bool,
    rebase: bool,
    message: str | None,
    rev_id: str | None,
    allow_conflicts: bool,
    dry_run: bool,
    exit_non_zero_on_fix: bool,
    **common: Any,
) -> None:
    """Repair the history: a merge revision (--merge) or a linear chain (--rebase).

    RANGE and the default scenario are those of `check`.  Files are written
    atomically into the working tree, never overwritten, and only when the
    result has one head per line; a published revision is never rewritten.
    """
    from mergeguard.app.workspace import Workspace
    from mergeguard.fix import run as fixing

    if merge and rebase:
        raise click.UsageError(
            "--merge and --rebase are two different fixes: choose one (a merge revision "
            "joining the heads, or this branch's revisions moved onto the other head)"
        )
    if not merge and not rebase:
        raise click.UsageError("choose --merge or --rebase")
    mode = "merge" if merge else "rebase"
    workspace = Workspace(make_options(**common), warn=_note)
    outcome = fixing.run(
        workspace,
        mode,
        range_spec,
        message=message,
        rev_id=rev_id,
        dry_run=dry_run,
        allow_conflicts=allow_conflicts,
    )
    workspace.close()
    for line in outcome.diffs:
        click.echo(line, nl=False)
    for note in outcome.plan.notes:
        click.echo(
            f"mergeguard: {'would write' if dry_run else 'wrote'} {_printable(note)}", err=True
        )
    kept = "kept in the merge file" if mode == "merge" else "between the sides"
    for conflict in outcome.plan.conflicts:
        click.echo(
            f"mergeguard: schema conflict {kept}: {conflict.code} {_printable(conflict.message)}",
            err=True,
        )
    for refusal in outcome.plan.refusals:
        click.echo(f"mergeguard: cannot fix: {_printable(refusal)}", err=True)
    if not outcome.plan.patches and not outcome.plan.refusals:
        click.echo("mergeguard: nothing to fix: no conflicting heads", err=True)
    failed = bool(outcome.plan.refusals) or (
        mode == "merge" and bool(outcome.plan.conflicts) and not allow_conflicts
    )
    changed = bool(outcome.plan.patches)
    raise SystemExit(EXIT_FINDINGS if failed or (changed and exit_non_zero_on_fix) else 0)


@cli.command("apply")
@click.argument("spec", metavar="[REF|RANGE]", required=False)
@click.option(
    "--url",
    default=None,
    help="A database server to create the scratch database on (default: SQLite file).",
)
@click.option(
    "--orders",
    default=6,
    show_default=True,
    type=click.IntRange(1, 720),
    help="Orders of sibling branches to try at each fork (beyond: a seeded sample).",
)
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds one step may take.",
)
@click.option("--format", "fmt", type=FORMAT_CHECK, default="text", show_default=True)
@common_options
def apply_command(
    spec: str | None, url: str | None, orders: int, timeout: float, fmt: str, **common: Any
) -> None:
    """Prove the branch model on a scratch database.

    First the graph findings of `check` (MG0xx, MG1xx: several heads are MG101
    or MG102); then every head alone from empty and back down; the sibling
    branches of each fork in every order, then the merged head; the whole
    history up, down and up.  Runs the project's env.py (else a minimal
    built-in environment) in a subprocess, on a throwaway database that is
    dropped afterwards.  A module the migrations import that is not installed
    here is exit 3: run apply where `alembic upgrade` runs.
    """
    from mergeguard.app.workspace import Workspace

    with _annotated_errors(fmt):
        workspace = Workspace(make_options(**common), warn=_note)
        if spec and ".." not in spec:
            scenario = workspace.ref_scenario(spec)
        else:
            scenario = workspace.scenario(spec)
        diagnostics = _graph_findings(workspace, scenario)
        diagnostics += tuple(_apply(scenario, url, orders, timeout))
        workspace.close()
    _emit_check(fmt, scenario, diagnostics, {})
    _finish(diagnostics)


GRAPH_RULES = ("MG0", "MG1")


def _graph_findings(workspace: Workspace, scenario: MergeScenario) -> tuple[Diagnostic, ...]:
    """What `check` says about the revision graph of the same scenario (the
    integrity and topology rules, under the project's own select / ignore):
    a database run cannot show that a merge leaves several heads, since each
    head is applied on its own."""
    from mergeguard.rules.run import Selection, evaluate

    chosen = workspace.selection()  # as `check` reads them
    found = evaluate(scenario, Selection(GRAPH_RULES))
    return tuple(d for d in found if chosen.allows(d.code, d.name))


def _apply(scenario: Any, url: str | None, orders: int, timeout: float) -> list[Diagnostic]:
    """Run the scratch database paths: a rich status line on a terminal,
    plain progress lines otherwise, notes on stderr."""
    from mergeguard.scratchdb.apply import ApplyOptions, apply_scenario

    options = ApplyOptions(url, orders, timeout)
    if sys.stderr.isatty() and not os.environ.get("CI"):
        from rich.console import Console

        console = Console(stderr=True)
        with console.status("mergeguard: preparing the scratch database") as status:
            result = apply_scenario(
                scenario, options, lambda m: status.update(f"mergeguard: {_printable(m)}")
            )
    else:
        result = apply_scenario(
            scenario, options, lambda m: click.echo(f"mergeguard: {_printable(m)}", err=True)
        )
    for note in result.notes:
        click.echo(f"mergeguard: note: {_printable(note)}", err=True)
    click.echo(f"mergeguard: {result.paths_run} paths run on the scratch database", err=True)
    return result.diagnostics


@cli.command()
@click.option("--markdown", is_flag=True, help="Print docs/rules.md (the whole catalogue).")
def rules(markdown: bool) -> None:
    """List every rule: code, name, severity and summary."""
    from mergeguard.rules import docs

    click.echo(docs.markdown() if markdown else docs.table(), nl=False)


@cli.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Explain one rule (by code or name): what, why, examples and the fix."""
    from mergeguard.rules import docs
    from mergeguard.rules.catalogue import find_rule

    found = find_rule(rule)
    if found is None:
        raise click.BadParameter(f"no rule is named {rule!r} (see `mergeguard rules`)")
    click.echo(docs.explain(found), nl=False)


def _read(
    ref: str | None, common: dict[str, Any]
) -> tuple[tuple[Any, ...], tuple[Diagnostic, ...]]:
    from mergeguard.app.workspace import Workspace
    from mergeguard.graph.environments import all_diagnostics

    workspace = Workspace(make_options(**common), warn=_note)
    snapshot = workspace.snapshot(ref)
    reads = workspace.read(snapshot)
    workspace.close()
    return reads, all_diagnostics(reads)


def _console() -> Any:
    from rich.console import Console

    return Console(file=sys.stdout, width=_width(), highlight=False)


def _width() -> int | None:
    columns = os.environ.get("COLUMNS")
    return int(columns) if columns and columns.isdigit() else None


def _summary(diagnostics: Sequence[Diagnostic]) -> None:
    from mergeguard.report.text import summary_line

    click.echo(summary_line(diagnostics), err=True)


def _finish(diagnostics: Sequence[Diagnostic]) -> None:
    if any(d.severity == "error" for d in diagnostics):
        raise SystemExit(EXIT_FINDINGS)


def _printable(text: str) -> str:
    """A message quoting repository values, unprintable characters escaped: on
    stderr too, a newline would let a value start a line CI runs as a command."""
    from mergeguard.report.escaping import printable

    return printable(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; every failure a user can cause becomes a message and an
    exit code, never a traceback."""
    from mergeguard.errors import BadArgument, MergeguardError

    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="mergeguard",
            standalone_mode=False,
        )
    except click.exceptions.Abort:
        click.echo("mergeguard: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except MergeguardError as exc:
        click.echo(f"mergeguard: error: {_printable(exc.message)}", err=True)
        if exc.hint:
            click.echo(f"  hint: {_printable(exc.hint)}", err=True)
        return EXIT_USAGE if isinstance(exc, BadArgument) else EXIT_CANNOT_RUN
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        click.echo("mergeguard: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug in mergeguard, not something the user did
        if os.environ.get("MERGEGUARD_DEBUG"):
            raise
        click.echo(
            f"mergeguard: internal error: {type(exc).__name__}: {_printable(str(exc))}", err=True
        )
        click.echo(
            "  hint: set MERGEGUARD_DEBUG=1 for the traceback, and please report it", err=True
        )
        return EXIT_CANNOT_RUN
    return EXIT_CLEAN
