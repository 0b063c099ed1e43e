"""What the commands print: the format on stdout; notes, progress, summaries
and could-not-run errors on stderr (repository values always escaped)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mergeguard.app.exit_codes import for_findings

if TYPE_CHECKING:
    from rich.console import Console

    from mergeguard.fix.run import Outcome
    from mergeguard.graph.environments import EnvironmentRead
    from mergeguard.model import DatabaseReading, Diagnostic, RangeMarks, Report, StatusReport


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """``text`` (and a newline) on stdout, or stderr with ``err``, flushed at
    once: the two streams interleave in the order written, and nothing waits
    in a buffer (as with click.echo).  Unlike click.echo, ANSI sequences are
    never stripped: every text but the report (which rich styles only for a
    terminal) carries repository values escaped (``printable``), and a dry
    run's diff is the files' text as it is."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # no console (pythonw): nowhere to write
        return
    line = f"{text}\n" if nl else text
    try:
        stream.write(line)
    except UnicodeEncodeError:  # a stream that cannot encode it (PYTHONIOENCODING=ascii)
        _write_replaced(stream, line)
    stream.flush()


def _write_replaced(stream: TextIO, text: str) -> None:
    """``text`` in the stream's encoding, what it cannot encode replaced (as
    click.echo wrote it): never an error for a character of a revision message."""
    encoding = stream.encoding or "utf-8"
    data = text.encode(encoding, errors="replace")
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a text-only stream: the replaced text, decoded back
        stream.write(data.decode(encoding, errors="replace"))
        return
    stream.flush()  # what was written before comes first
    buffer.write(data)


def usage_error(message: str, usage: str, prog: str) -> None:
    """A usage error on stderr: the usage line, where help is, then what is wrong."""
    echo(usage, err=True, nl=False)
    echo(f"Try '{prog} --help' for help.\n", err=True)
    echo(f"{prog}: error: {printable(message)}", err=True)


def note(message: str) -> None:
    """A note for the user on stderr (stdout is the findings)."""
    echo(f"mergeguard: {printable(message)}", err=True)


@contextmanager
def annotated_errors(fmt: str, summary: Path | None = None) -> Iterator[None]:
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

            echo(cannot_run(error.message, error.hint))
        if summary is not None:
            from mergeguard.app.summary_file import append
            from mergeguard.report import markdown

            try:
                append(summary, markdown.cannot_run(error.message, error.hint))
            except MergeguardError as unwritable:  # the first error is the one to report
                echo(f"mergeguard: {printable(unwritable.message)}", err=True)
        raise


def emit(fmt: str, report: Report) -> None:
    """The report on stdout, its summary on stderr."""
    from mergeguard.report.render import render, summary

    console = colour_console() if fmt == "text" else None
    echo(render(fmt, report, console), nl=False)
    echo(summary(fmt, report), nl=False, err=True)


@contextmanager
def apply_progress() -> Iterator[Callable[[str], None]]:
    """Where the scratch database's progress goes: a rich status line on a
    terminal, plain lines otherwise."""
    if sys.stderr.isatty() and not os.environ.get("CI"):
        from rich.console import Console

        console = Console(stderr=True)
        with console.status("mergeguard: preparing the scratch database") as status:
            yield lambda m: status.update(f"mergeguard: {printable(m)}")
    else:
        yield lambda m: echo(f"mergeguard: {printable(m)}", err=True)


def stdout_console() -> Console:
    """rich's console on stdout (the ``graph`` tree needs it: its rows fit the width)."""
    from rich.console import Console

    return Console(file=sys.stdout, width=columns(), highlight=False)


def colour_console() -> Console | None:
    """rich's console when stdout may show styles: a terminal, or the
    variables rich reads to force one (``FORCE_COLOR``, ``TTY_COMPATIBLE``).
    Otherwise None: rich would print the plain text, which is made without
    importing it (a tenth of a second a run)."""
    forced = "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ
    return stdout_console() if forced or sys.stdout.isatty() else None


def print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    """The findings after ``heads``' or ``graph``'s output, in colour on a terminal."""
    from mergeguard.report import text

    console = colour_console()
    if console is None:
        echo(text.diagnostics_text(diagnostics), nl=False)
    else:
        text.render_diagnostics(console, diagnostics)


def columns() -> int | None:
    columns = os.environ.get("COLUMNS")
    return int(columns) if columns and columns.isdigit() else None


def summary(diagnostics: Sequence[Diagnostic]) -> None:
    from mergeguard.report.text import summary_line

    echo(summary_line(diagnostics), err=True)


def finish(diagnostics: Sequence[Diagnostic]) -> None:
    from mergeguard.model import Counts

    raise SystemExit(for_findings(Counts.of(diagnostics)))


def printable(text: str) -> str:
    """A message quoting repository values, unprintable characters escaped: on
    stderr too, a newline would let a value start a line CI runs as a command."""
    from mergeguard.report.escaping import printable

    return printable(text)


def fix_outcome(outcome: Outcome, mode: str, dry_run: bool) -> None:
    """What ``fix`` did: the diffs of a dry run on stdout; what it wrote, the
    conflicts it kept and what it refused on stderr."""
    for line in outcome.diffs:
        echo(line, nl=False)
    for note in outcome.plan.notes:
        echo(f"mergeguard: {'would write' if dry_run else 'wrote'} {printable(note)}", err=True)
    for line in outcome.plan.databases:  # which deployed databases will run the merge
        echo(f"mergeguard: {printable(line)}", err=True)
    for line in outcome.hook_lines:  # a hook's output: escaped, a line each
        echo(f"mergeguard: {printable(line)}", err=True)
    kept = "kept in the merge file" if mode == "merge" else "between the sides"
    for conflict in outcome.plan.conflicts:
        message = printable(conflict.message)
        echo(f"mergeguard: schema conflict {kept}: {conflict.code} {message}", err=True)
    for refusal in outcome.plan.refusals:
        echo(f"mergeguard: cannot fix: {printable(refusal)}", err=True)
    if not outcome.plan.patches and not outcome.plan.refusals:
        echo("mergeguard: nothing to fix: no conflicting heads", err=True)


def heads(fmt: str, reads: Sequence[EnvironmentRead], diagnostics: Sequence[Diagnostic]) -> None:
    """``heads``: JSON, or the heads as ``alembic heads`` prints them, then the problems."""
    if fmt == "json":
        from mergeguard.report import jsonout

        echo(jsonout.heads_document(reads, diagnostics))
        return
    from mergeguard.report import text

    echo(text.heads_text(reads), nl=False)
    print_diagnostics(diagnostics)
    summary(diagnostics)


def graph(
    fmt: str,
    reads: Sequence[EnvironmentRead],
    diagnostics: Sequence[Diagnostic],
    marks: RangeMarks | None,
    limit: int | None,
    databases: Sequence[DatabaseReading] = (),
) -> None:
    """``graph``: JSON, dot, Mermaid (with where each database stands), or
    the tree of each environment, then the problems."""
    from mergeguard.report import graphviews

    if fmt == "json":
        echo(graphviews.graph_document(reads, diagnostics, marks, limit))
    elif fmt == "dot":
        echo(graphviews.dot(reads, marks, limit), nl=False)
    elif fmt == "mermaid":
        echo(graphviews.mermaid(reads, marks, limit, databases), nl=False)
    else:
        console = stdout_console()
        for read in reads:
            console.print(graphviews.tree(read, marks, limit))
        print_diagnostics(diagnostics)
        summary(diagnostics)


def status(fmt: str, report: StatusReport) -> None:
    """``status``: the databases in ``fmt`` on stdout, the counts on stderr."""
    from mergeguard.report.status import render_status, status_summary

    echo(render_status(fmt, report), nl=False)
    if fmt == "text":
        echo(status_summary(report), nl=False, err=True)
