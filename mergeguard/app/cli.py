"""The command line (argparse): parse the arguments, call the pipeline, render,
map the exit code (app/exit_codes.py).

Findings go to stdout in the chosen format; summaries and errors go to
stderr.  Heavy modules (git, libcst, rich) are imported inside commands so
that ``mergeguard --help`` stays fast; the parser is the standard library's
(click's import alone cost ~9 ms of the pre-commit hook's warm check).

A command is a function taking the parsed arguments, registered with
``@command(adds, operands)``: ``adds`` puts its options on its parser, its
docstring is its help.  ``main`` never exits: argparse's exits (``--help``,
usage errors) come out as return codes.
"""

from __future__ import annotations

import gc
import os
import sys
from argparse import SUPPRESS, Namespace
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mergeguard.app import cli_arguments as arguments
from mergeguard.app import cli_output as output
from mergeguard.app.cli_arguments import Parser
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

Handler = TypeVar("Handler", bound=Callable[[Namespace], None])


DESCRIPTION = """Keep Alembic migration histories mergeable.

Reads migration files statically (never imports them) at any git ref, and
reports what a merge will do to the revision graph before it happens.
"""

# Every command, in the order defined; `mergeguard --help` lists them by name.
COMMANDS: list[arguments.Command] = []


def command(
    adds: Callable[[Parser], None], operands: str = "", name: str | None = None
) -> Callable[[Handler], Handler]:
    """Register a command: ``adds`` puts its arguments on its parser, its
    docstring is its help (the first paragraph its summary)."""

    def register(handler: Handler) -> Handler:
        COMMANDS.append(arguments.Command(name or handler.__name__, handler, adds, operands))
        return handler

    return register


def _heads_arguments(parser: Parser) -> None:
    arguments.ref_option(parser)
    arguments.format_option(parser, arguments.FORMAT_HEADS, "text")
    arguments.common_options(parser)


@command(_heads_arguments)
def heads(args: Namespace) -> None:
    """Show the heads of every environment, like `alembic heads`."""
    reads, diagnostics, _ = _read(args.ref, args)
    output.heads(args.fmt, reads, diagnostics)
    output.finish(diagnostics)


def _graph_arguments(parser: Parser) -> None:
    arguments.range_argument(parser)
    arguments.ref_option(parser)
    arguments.format_option(parser, arguments.FORMAT_GRAPH, "tree")
    parser.add_argument(
        "--limit",
        type=arguments.int_range(1),
        metavar="N",
        help="Only the N newest revisions (in the tree's order).",
    )
    arguments.no_databases_option(parser)
    arguments.common_options(parser)


@command(_graph_arguments, "[RANGE]")
def graph(args: Namespace) -> None:
    """Draw the revision graph: a tree, JSON, Graphviz dot or Mermaid.

    The tree prints one revision a line, newest first (like `alembic history`),
    with a new column only where the history forks.  RANGE is A..B: draw what
    merging A and B would leave, marking with `+` the revisions each side adds.
    Mermaid also marks where each deployed database of
    [tool.mergeguard.databases] stands (read only; --no-databases skips them).
    """
    databases = args.fmt == "mermaid" and not args.no_databases
    reads, diagnostics, marks, readings = _graph_reads(args.range_spec, args.ref, args, databases)
    output.graph(args.fmt, reads, diagnostics, marks, args.limit, readings)
    output.finish(diagnostics)


def _graph_reads(
    range_spec: str | None, ref: str | None, args: Namespace, databases: bool
) -> tuple[tuple[Any, ...], tuple[Diagnostic, ...], Any, tuple[Any, ...]]:
    """What ``graph`` draws: one snapshot (``--ref``, else the working tree),
    or the merged side of a range with the revisions each side adds; and the
    deployed databases when ``databases``."""
    from mergeguard.app import pipeline

    if range_spec is None:
        reads, diagnostics, readings = _read(ref, args, databases)
        return reads, diagnostics, None, readings
    arguments.require_range(range_spec, ref)
    options = arguments.make_options(args)
    return pipeline.read_range(options, range_spec, warn=output.note, databases=databases)


def _check_arguments(parser: Parser) -> None:
    arguments.range_argument(parser)
    parser.add_argument(
        "--staged", action="store_true", help="Check the index instead of the working tree."
    )
    arguments.format_option(parser, arguments.FORMAT_CHECK, "text")
    for option, says in (("--select", "Only these"), ("--ignore", "Skip these")):
        parser.add_argument(
            option,
            action="append",
            default=[],
            metavar="RULES",
            help=f"{says} rules (code, prefix or name).",
        )
    parser.add_argument(
        "--apply",
        dest="apply_",
        action="store_true",
        help="Also prove the result on a scratch database (see `mergeguard apply`).",
    )
    parser.add_argument("--url", metavar="URL", help="With --apply: the database server to use.")
    parser.add_argument(
        "--summary",
        type=arguments.file_path,
        metavar="FILE",
        help="Also append the Markdown report to FILE (e.g. $GITHUB_STEP_SUMMARY).",
    )
    arguments.no_databases_option(parser)
    arguments.common_options(parser)


@command(_check_arguments, "[RANGE]")
def check(args: Namespace) -> None:
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

    chosen = arguments.selectors(args.select, "--select")
    skipped = arguments.selectors(args.ignore, "--ignore")
    request = CheckRequest(
        arguments.make_options(args),
        args.range_spec,
        staged=args.staged,
        select=chosen,
        ignore=skipped,
        apply=ApplyRequest(args.url) if args.apply_ else None,
        databases=not args.no_databases,
    )
    summary: Path | None = args.summary
    with output.annotated_errors(args.fmt, summary):
        report = _run_check(request, args.fmt, summary)
    raise SystemExit(for_findings(report.counts))


def _run_check(request: CheckRequest, fmt: str, summary: Path | None = None) -> Report:
    """Check, print the report in ``fmt`` (and append Markdown to ``summary``),
    return the report (the caller decides the exit code; ``demo`` uses it too)."""
    from mergeguard.app import pipeline
    from mergeguard.model import replace
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


def _demo_arguments(parser: Parser) -> None:
    parser.add_argument("directory", nargs="?", type=Path, metavar="DIR", help=SUPPRESS)


@command(_demo_arguments, "[DIR]")
def demo(args: Namespace) -> None:
    """Show mergeguard on a throwaway repository.

    Builds a git repository in DIR (default: a new temporary directory, kept
    so you can look around) where branches `main` and `feature` each add a
    migration on the same parent, then runs `mergeguard check main..feature`
    on it.  Exit 0 when the demo shows what it should (MG102).
    """
    from mergeguard.app import demo as demo_repository
    from mergeguard.app.options import Options
    from mergeguard.app.pipeline import CheckRequest

    directory: Path | None = None
    if args.directory is not None:
        directory = arguments.start_directory(args.before, args.directory)  # after `-C DIR`
        reason = demo_repository.unusable_reason(directory)
        if reason:
            raise arguments.bad_value("DIR", f"{reason}; pass a new or empty directory")
    built = demo_repository.build(directory)
    output.echo(demo_repository.story(built), err=True)
    request = CheckRequest(Options(built.root), demo_repository.RANGE)
    report = _run_check(request, "text")
    if not any(d.code == "MG102" for d in report.diagnostics):
        output.echo("mergeguard demo: the check did not report MG102 as it should", err=True)
        raise SystemExit(EXIT_CANNOT_RUN)
    sys.stdout.flush()
    output.echo(demo_repository.next_steps(built), err=True)


def _fix_arguments(parser: Parser) -> None:
    arguments.range_argument(parser)
    parser.add_argument(
        "--merge", action="store_true", help="Write a merge revision joining the heads."
    )
    parser.add_argument(
        "--rebase",
        action="store_true",
        help="Re-point this branch's new revisions onto the other side's head.",
    )
    parser.add_argument("-m", "--message", metavar="TEXT", help="Message of the merge revision.")
    parser.add_argument("--rev-id", metavar="ID", help="Revision id of the merge revision.")
    parser.add_argument(
        "--allow-conflicts",
        action="store_true",
        help="Exit 0 even when the joined branches conflict in the schema (--merge); "
        "re-point them anyway (--rebase).",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="Print the change as a diff; write nothing."
    )
    parser.add_argument(
        "--exit-non-zero-on-fix", action="store_true", help="Exit 1 when files were changed."
    )
    arguments.no_hooks_option(parser)
    arguments.no_databases_option(parser)
    arguments.common_options(parser)


@command(_fix_arguments, "[RANGE]")
def fix(args: Namespace) -> None:
    """Repair the history: a merge revision (--merge) or a linear chain (--rebase).

    RANGE and the default scenario are those of `check`.  Files are written
    atomically into the working tree, never overwritten, and only when the
    result has one head per line; a published revision is never rewritten,
    nor one a deployed database of [tool.mergeguard.databases] has applied
    (--rebase refuses; --merge says which databases will run the merge).
    """
    from mergeguard.app.fixing import FixRequest
    from mergeguard.app.fixing import fix as run_fix

    if args.merge and args.rebase:
        raise arguments.UsageError(
            "--merge and --rebase are two different fixes: choose one (a merge revision "
            "joining the heads, or this branch's revisions moved onto the other head)"
        )
    if not args.merge and not args.rebase:
        raise arguments.UsageError("choose --merge or --rebase")
    mode = "merge" if args.merge else "rebase"
    request = FixRequest(
        mode,
        arguments.make_options(args),
        args.range_spec,
        message=args.message,
        rev_id=args.rev_id,
        dry_run=args.dry_run,
        allow_conflicts=args.allow_conflicts,
        run_hooks=not args.no_hooks,
        databases=not args.no_databases,
    )
    outcome = run_fix(request, warn=output.note)
    output.fix_outcome(outcome, mode, args.dry_run)
    failed = bool(outcome.plan.refusals) or (
        mode == "merge" and bool(outcome.plan.conflicts) and not args.allow_conflicts
    )
    changed = bool(outcome.plan.patches)
    raise SystemExit(EXIT_FINDINGS if failed or (changed and args.exit_non_zero_on_fix) else 0)


def _apply_arguments(parser: Parser) -> None:
    arguments.range_argument(parser, "REF|RANGE", "spec")
    parser.add_argument(
        "--url",
        metavar="URL",
        help="A database server to create the scratch database on (default: SQLite file).",
    )
    parser.add_argument(
        "--orders",
        default=6,
        type=arguments.int_range(1, 720),
        metavar="N",
        help="Orders of sibling branches to try at each fork, at most 720 (beyond: a seeded "
        "sample) (default: %(default)s).",
    )
    parser.add_argument(
        "--timeout",
        default=300.0,
        type=arguments.float_range(1),
        metavar="SECONDS",
        help="Seconds one step may take, at least 1 (default: %(default)s).",
    )
    arguments.format_option(parser, arguments.FORMAT_CHECK, "text")
    arguments.common_options(parser)


@command(_apply_arguments, "[REF|RANGE]", name="apply")
def apply_command(args: Namespace) -> None:
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

    spec: str | None = args.spec
    request = pipeline.CheckRequest(
        arguments.make_options(args),
        spec,
        single_ref=bool(spec and ".." not in spec),
        families=GRAPH_RULES,
        charts=args.fmt in CHART_FORMATS,  # no schema changes: apply proves, it does not diff
        apply=pipeline.ApplyRequest(args.url, args.orders, args.timeout, selected=False),
    )
    with output.annotated_errors(args.fmt):
        report = pipeline.check(request, warn=output.note, progress=output.apply_progress)
    output.emit(args.fmt, report)
    raise SystemExit(for_findings(report.counts))


# What `check` says about the revision graph of the same scenario (the
# integrity and topology rules, under the project's own select / ignore): a
# database run cannot show that a merge leaves several heads, since each head
# is applied on its own.
GRAPH_RULES = ("MG0", "MG1")


def _status_arguments(parser: Parser) -> None:
    parser.add_argument(
        "--url",
        dest="urls",
        action="append",
        default=[],
        metavar="URL",
        help="A deployed database to read (repeatable; named url1, url2...); replaces "
        "[tool.mergeguard.databases].",
    )
    arguments.ref_option(parser, "Judge against this commit instead of the working tree.")
    arguments.format_option(parser, arguments.FORMAT_STATUS, "text")
    arguments.common_options(parser)


@command(_status_arguments)
def status(args: Namespace) -> None:
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

    request = StatusRequest(arguments.make_options(args), args.ref, tuple(args.urls))
    report = run_status(request, warn=output.note)
    output.status(args.fmt, report)
    raise SystemExit(EXIT_FINDINGS if report.failed else EXIT_CLEAN)


def _rules_arguments(parser: Parser) -> None:
    parser.add_argument(
        "--markdown", action="store_true", help="Print docs/rules.md (the whole catalogue)."
    )


@command(_rules_arguments)
def rules(args: Namespace) -> None:
    """List every rule: code, name, severity and summary."""
    from mergeguard.rules import docs

    output.echo(docs.markdown() if args.markdown else docs.table(), nl=False)


def _explain_arguments(parser: Parser) -> None:
    parser.add_argument("rule", metavar="RULE", help=SUPPRESS)


@command(_explain_arguments, "RULE")
def explain(args: Namespace) -> None:
    """Explain one rule (by code or name): what, why, examples and the fix."""
    from mergeguard.rules import docs
    from mergeguard.rules.catalogue import find_rule

    found = find_rule(args.rule)
    if found is None:
        raise arguments.bad_value(
            "RULE", f"no rule is named {args.rule!r} (see `mergeguard rules`)"
        )
    output.echo(docs.explain(found), nl=False)


def _read(
    ref: str | None, args: Namespace, databases: bool = False
) -> tuple[tuple[Any, ...], tuple[Diagnostic, ...], tuple[Any, ...]]:
    from mergeguard.app import pipeline

    options = arguments.make_options(args)
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
    if _watched() or any(name in sys.modules for name in EXIT_WORK) or _threads_pending():
        sys.exit(code)
    try:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe or stream: the interpreter reports it
        sys.exit(code)
    os._exit(code)


def _watched() -> bool:
    """True when a profiler, tracer or monitoring tool (a debugger, coverage)
    waits for the run to end: ``python -m cProfile`` on 3.12+ shows in no
    hook ``sys.getprofile`` reads, but its module is imported."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return True
    if "cProfile" in sys.modules or "profile" in sys.modules:
        return True
    monitoring = getattr(sys, "monitoring", None)  # 3.12+: tools by id, 0 to 5
    return monitoring is not None and any(monitoring.get_tool(i) for i in range(6))


def _threads_pending() -> bool:
    """True when a thread the interpreter would wait for at exit is alive."""
    threading = sys.modules.get("threading")
    if threading is None:
        return False
    main_thread = threading.main_thread()
    return any(t is not main_thread and not t.daemon for t in threading.enumerate())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; every failure a user can cause becomes a message and an
    exit code, never a traceback (nor a SystemExit: argparse's exits for
    ``--help`` and usage errors are return codes too)."""
    from mergeguard.errors import BadArgument, MergeguardError

    try:
        _dispatch(list(argv) if argv is not None else sys.argv[1:])
    except arguments.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except MergeguardError as exc:
        output.echo(f"mergeguard: error: {output.printable(exc.message)}", err=True)
        if exc.hint:
            output.echo(f"  hint: {output.printable(exc.hint)}", err=True)
        return EXIT_USAGE if isinstance(exc, BadArgument) else EXIT_CANNOT_RUN
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        output.echo("mergeguard: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug in mergeguard, not something the user did
        if os.environ.get("MERGEGUARD_DEBUG"):
            raise
        output.echo(
            f"mergeguard: internal error: {type(exc).__name__}: {output.printable(str(exc))}",
            err=True,
        )
        output.echo(
            "  hint: set MERGEGUARD_DEBUG=1 for the traceback, and please report it", err=True
        )
        return EXIT_CANNOT_RUN
    return EXIT_CLEAN


def _dispatch(argv: list[str]) -> None:
    """Parse ``argv`` and run its command; a usage error the command raises
    is shown with that command's usage line."""
    parser = arguments.command_line(DESCRIPTION, COMMANDS)
    if not argv:  # as click did: the whole help, on stderr, and exit 2
        output.echo(parser.format_help(), err=True, nl=False)
        raise SystemExit(EXIT_USAGE)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("missing command")
    try:
        args.handler(args)
    except arguments.UsageError as exc:
        exc.parser = exc.parser or args.parser
        raise
