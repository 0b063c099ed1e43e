"""The command line (click): parse the arguments, call the pipeline, render,
map the exit code (app/exit_codes.py).

Findings go to stdout in the chosen format; summaries and errors go to
stderr.  Heavy modules (git, libcst, rich) are imported inside commands so
that ``mergeguard --help`` stays fast.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mergeguard.app import cli_arguments as arguments
from mergeguard.app import cli_output as output
from mergeguard.app.exit_codes import (
    EXIT_CANNOT_RUN,
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    for_findings,
)

if TYPE_CHECKING:
    from mergeguard.app.pipeline import CheckRequest
    from mergeguard.model import Diagnostic, Report


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mergeguard", prog_name="mergeguard")
@click.option(
    "-C",
    "directory",
    type=arguments.DIRECTORY,
    default=None,
    help="Run as if started in DIR (as git -C; a -C after the command is relative to it).",
)
def cli(directory: Path | None) -> None:
    """Keep Alembic migration histories mergeable.

    Reads migration files statically (never imports them) at any git ref, and
    reports what a merge will do to the revision graph before it happens.
    """


@cli.command()
@click.option("--ref", default=None, help="Read this commit instead of the working tree.")
@click.option("--format", "fmt", type=arguments.FORMAT_HEADS, default="text", show_default=True)
@arguments.common_options
def heads(ref: str | None, fmt: str, **common: Any) -> None:
    """Show the heads of every environment, like `alembic heads`."""
    reads, diagnostics, _ = _read(ref, common)
    output.heads(fmt, reads, diagnostics)
    output.finish(diagnostics)


@cli.command()
@click.argument("range_spec", metavar="[RANGE]", required=False)
@click.option("--ref", default=None, help="Read this commit instead of the working tree.")
@click.option("--format", "fmt", type=arguments.FORMAT_GRAPH, default="tree", show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Only the N newest revisions (in the tree's order).",
)
@arguments.no_databases_option
@arguments.common_options
def graph(
    range_spec: str | None,
    ref: str | None,
    fmt: str,
    limit: int | None,
    no_databases: bool,
    **common: Any,
) -> None:
    """Draw the revision graph: a tree, JSON, Graphviz dot or Mermaid.

    The tree prints one revision a line, newest first (like `alembic history`),
    with a new column only where the history forks.  RANGE is A..B: draw what
    merging A and B would leave, marking with `+` the revisions each side adds.
    Mermaid also marks where each deployed database of
    [tool.mergeguard.databases] stands (read only; --no-databases skips them).
    """
    databases = fmt == "mermaid" and not no_databases
    reads, diagnostics, marks, readings = _graph_reads(range_spec, ref, common, databases)
    output.graph(fmt, reads, diagnostics, marks, limit, readings)
    output.finish(diagnostics)


def _graph_reads(
    range_spec: str | None, ref: str | None, common: dict[str, Any], databases: bool
) -> tuple[tuple[Any, ...], tuple[Diagnostic, ...], Any, tuple[Any, ...]]:
    """What ``graph`` draws: one snapshot (``--ref``, else the working tree),
    or the merged side of a range with the revisions each side adds; and the
    deployed databases when ``databases``."""
    from mergeguard.app import pipeline

    if range_spec is None:
        reads, diagnostics, readings = _read(ref, common, databases)
        return reads, diagnostics, None, readings
    arguments.require_range(range_spec, ref)
    options = arguments.make_options(**common)
    return pipeline.read_range(options, range_spec, warn=output.note, databases=databases)


@cli.command()
@click.argument("range_spec", metavar="[RANGE]", required=False)
@click.option("--staged", is_flag=True, help="Check the index instead of the working tree.")
@click.option("--format", "fmt", type=arguments.FORMAT_CHECK, default="text", show_default=True)
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
@arguments.no_databases_option
@arguments.common_options
def check(
    range_spec: str | None,
    staged: bool,
    fmt: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    apply_: bool,
    url: str | None,
    summary: Path | None,
    no_databases: bool,
    **common: Any,
) -> None:
    """Predict what merging does to the revision graph.

    RANGE is A..B (or A...B): B is checked against A from their merge base, and
    their merge is predicted.  Without RANGE: a merge in progress, else
    pre-commit's pushed refs, else the working tree (or --staged index) against
    --base / [tool.mergeguard] base / the upstream branch.  Under pre-commit
    (PRE_COMMIT=1) the index is checked, as with --staged.  The deployed
    databases of [tool.mergeguard.databases] are read, read only (MG401-MG403),
    unless --no-databases.
    """
    from mergeguard.app.pipeline import ApplyRequest, CheckRequest

    chosen, skipped = arguments.selectors(select), arguments.selectors(ignore)
    request = CheckRequest(
        arguments.make_options(**common),
        range_spec,
        staged=staged,
        select=chosen,
        ignore=skipped,
        apply=ApplyRequest(url) if apply_ else None,
        databases=not no_databases,
    )
    with output.annotated_errors(fmt, summary):
        report = _run_check(request, fmt, summary)
    raise SystemExit(for_findings(report.counts))


def _run_check(request: CheckRequest, fmt: str, summary: Path | None = None) -> Report:
    """Check, print the report in ``fmt`` (and append Markdown to ``summary``),
    return the report (the caller decides the exit code; ``demo`` uses it too)."""
    from dataclasses import replace

    from mergeguard.app import pipeline
    from mergeguard.report.render import CHART_FORMATS, SCHEMA_CHANGE_FORMATS

    shown = {fmt, "markdown"} if summary is not None else {fmt}
    request = replace(
        request,
        schema_changes=bool(shown & SCHEMA_CHANGE_FORMATS),
        charts=bool(shown & CHART_FORMATS),
    )
    report = pipeline.check(request, warn=output.note, progress=output.apply_progress)
    output.emit(fmt, report)
    if summary is not None:
        from mergeguard.app.summary_file import append
        from mergeguard.report.render import render

        append(summary, render("markdown", report))
    return report


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
    from mergeguard.app.pipeline import CheckRequest

    if directory is not None:
        directory = arguments.start_directory(directory)  # relative to `mergeguard -C DIR demo`
        reason = demo_repository.unusable_reason(directory)
        if reason:
            raise click.BadParameter(f"{reason}; pass a new or empty directory", param_hint="DIR")
    built = demo_repository.build(directory)
    click.echo(demo_repository.story(built), err=True)
    request = CheckRequest(arguments.make_options(directory=built.root), demo_repository.RANGE)
    report = _run_check(request, "text")
    if not any(d.code == "MG102" for d in report.diagnostics):
        click.echo("mergeguard demo: the check did not report MG102 as it should", err=True)
        raise SystemExit(EXIT_CANNOT_RUN)
    sys.stdout.flush()
    click.echo(demo_repository.next_steps(built), err=True)


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
@arguments.no_hooks_option
@arguments.no_databases_option
@arguments.common_options
def fix(
    range_spec: str | None,
    merge: bool,
    rebase: bool,
    message: str | None,
    rev_id: str | None,
    allow_conflicts: bool,
    dry_run: bool,
    exit_non_zero_on_fix: bool,
    no_hooks: bool,
    no_databases: bool,
    **common: Any,
) -> None:
    """Repair the history: a merge revision (--merge) or a linear chain (--rebase).

    RANGE and the default scenario are those of `check`.  Files are written
    atomically into the working tree, never overwritten, and only when the
    result has one head per line; a published revision is never rewritten,
    nor one a deployed database of [tool.mergeguard.databases] has applied
    (--rebase refuses; --merge says which databases will run the merge).
    """
    from mergeguard.app.fixing import FixRequest
    from mergeguard.app.fixing import fix as run_fix

    if merge and rebase:
        raise click.UsageError(
            "--merge and --rebase are two different fixes: choose one (a merge revision "
            "joining the heads, or this branch's revisions moved onto the other head)"
        )
    if not merge and not rebase:
        raise click.UsageError("choose --merge or --rebase")
    mode = "merge" if merge else "rebase"
    request = FixRequest(
        mode,
        arguments.make_options(**common),
        range_spec,
        message=message,
        rev_id=rev_id,
        dry_run=dry_run,
        allow_conflicts=allow_conflicts,
        run_hooks=not no_hooks,
        databases=not no_databases,
    )
    outcome = run_fix(request, warn=output.note)
    output.fix_outcome(outcome, mode, dry_run)
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
@click.option("--format", "fmt", type=arguments.FORMAT_CHECK, default="text", show_default=True)
@arguments.common_options
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
    from mergeguard.app import pipeline
    from mergeguard.report.render import CHART_FORMATS

    request = pipeline.CheckRequest(
        arguments.make_options(**common),
        spec,
        single_ref=bool(spec and ".." not in spec),
        families=GRAPH_RULES,
        charts=fmt in CHART_FORMATS,  # no schema changes: apply proves, it does not diff
        apply=pipeline.ApplyRequest(url, orders, timeout, selected=False),
    )
    with output.annotated_errors(fmt):
        report = pipeline.check(request, warn=output.note, progress=output.apply_progress)
    output.emit(fmt, report)
    raise SystemExit(for_findings(report.counts))


# What `check` says about the revision graph of the same scenario (the
# integrity and topology rules, under the project's own select / ignore): a
# database run cannot show that a merge leaves several heads, since each head
# is applied on its own.
GRAPH_RULES = ("MG0", "MG1")


@cli.command()
@click.option(
    "--url",
    "urls",
    multiple=True,
    help="A deployed database to read (repeatable; named url1, url2...); replaces "
    "[tool.mergeguard.databases].",
)
@click.option("--ref", default=None, help="Judge against this commit instead of the working tree.")
@click.option("--format", "fmt", type=arguments.FORMAT_STATUS, default="text", show_default=True)
@arguments.common_options
def status(urls: tuple[str, ...], ref: str | None, fmt: str, **common: Any) -> None:
    """Show where each deployed database stands against this history.

    Reads each database's version table read-only (a read-only transaction,
    a short timeout: MERGEGUARD_DB_TIMEOUT seconds, default 10): up-to-date,
    behind (with what `alembic upgrade heads` would run, in order), stranded
    on a revision this history lacks (with the branches that have it), empty,
    or unreachable.  Databases come from --url, else [tool.mergeguard.databases]
    in pyproject.toml (name = "URL" or "env:VARIABLE").  Exit 1 when one is
    stranded (or a finding is an error).
    """
    from mergeguard.app.status import StatusRequest
    from mergeguard.app.status import status as run_status

    request = StatusRequest(arguments.make_options(**common), ref, urls)
    report = run_status(request, warn=output.note)
    output.status(fmt, report)
    raise SystemExit(EXIT_FINDINGS if report.failed else EXIT_CLEAN)


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
    ref: str | None, common: dict[str, Any], databases: bool = False
) -> tuple[tuple[Any, ...], tuple[Diagnostic, ...], tuple[Any, ...]]:
    from mergeguard.app import pipeline

    options = arguments.make_options(**common)
    return pipeline.read(options, ref, warn=output.note, databases=databases)


# allocations between two young collections (CPython's default is 700)
_YOUNG_COLLECTION_EVERY = 100_000


def run() -> None:
    """The console script and ``python -m mergeguard``: ``main``'s exit code.

    Objects still alive are frozen first, so the interpreter's collection at
    exit does not walk the run's values (a fifth of a second after a check
    of 5,000 revisions); the process frees them as it ends.  Not in ``main``:
    a caller that goes on running must keep its garbage collected.

    The collector runs a hundred and forty times less often than by default:
    a run makes hundreds of thousands of values and almost no cycles, and
    collecting them so often cost 5% of a warm check's instructions.  Cycles are
    still collected, so memory stays bounded."""
    gc.set_threshold(_YOUNG_COLLECTION_EVERY, 50, 100)
    code = main()
    gc.freeze()
    exit_now(code)


# Modules that leave work for the interpreter's exit once imported: any
# ``atexit`` callback (logging's flush, weakref finalizers such as a temporary
# directory's removal, multiprocessing's clean-up) needs ``atexit`` imported
# first; a worker pool's shut-down (concurrent.futures) is registered with
# threading instead.  A run that imported one of them exits the ordinary way.
EXIT_WORK = ("atexit", "concurrent.futures", "multiprocessing")


def exit_now(code: int) -> None:
    """End the process with ``code`` as soon as its output is out.

    The interpreter's own exit tears down every module and frees every value
    of the run one by one (milliseconds after a large check), work the
    operating system does at once.  So once stdout and stderr are flushed,
    the process ends with ``os._exit`` -- when nothing else is pending: every
    file mergeguard writes is closed before its command returns (the cache is
    written to a temporary file renamed into place), no thread but daemon
    ones is alive, no module that leaves work for the exit (``EXIT_WORK``) was
    imported, and no profiler or tracer (cProfile, coverage, a debugger) is
    waiting to write what it saw.  Otherwise, or when a stream cannot be
    flushed (a closed pipe), the exit is the interpreter's, which reports and
    exits exactly as it always has."""
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if watched or any(name in sys.modules for name in EXIT_WORK) or _threads_pending():
        sys.exit(code)
    try:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe or stream: the interpreter reports it
        sys.exit(code)
    os._exit(code)


def _threads_pending() -> bool:
    """True when a thread the interpreter would wait for at exit is alive."""
    threading = sys.modules.get("threading")
    if threading is None:
        return False
    main_thread = threading.main_thread()
    return any(t is not main_thread and not t.daemon for t in threading.enumerate())


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
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except MergeguardError as exc:
        click.echo(f"mergeguard: error: {output.printable(exc.message)}", err=True)
        if exc.hint:
            click.echo(f"  hint: {output.printable(exc.hint)}", err=True)
        return EXIT_USAGE if isinstance(exc, BadArgument) else EXIT_CANNOT_RUN
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        click.echo("mergeguard: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug in mergeguard, not something the user did
        if os.environ.get("MERGEGUARD_DEBUG"):
            raise
        click.echo(
            f"mergeguard: internal error: {type(exc).__name__}: {output.printable(str(exc))}",
            err=True,
        )
        click.echo(
            "  hint: set MERGEGUARD_DEBUG=1 for the traceback, and please report it", err=True
        )
        return EXIT_CANNOT_RUN
    return EXIT_CLEAN
