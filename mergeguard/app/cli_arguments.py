"""The command line's parser (argparse) and shared arguments: the options on
every command, where a command runs (``-C``), the formats, value types and
rule selectors.

argparse, not click: importing click cost ~9 ms of a ~135 ms warm
``mergeguard check --staged`` (the pre-commit hook, issue 12), argparse ~2.4 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TypeVar

from mergeguard.app import cli_output as output

if TYPE_CHECKING:  # a dataclass: imported when a command runs, not for `--help`
    from mergeguard.app.options import Options

N = TypeVar("N", int, float)


class UsageError(Exception):
    """Bad arguments (exit 2): ``main`` prints the usage of ``parser`` (the
    command's, when the command itself raised it), then the message."""

    def __init__(self, message: str, parser: argparse.ArgumentParser | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parser = parser

    def show(self) -> None:
        """On stderr: the usage line, where help is, and what is wrong."""
        parser = self.parser
        usage, prog = (parser.format_usage(), parser.prog) if parser else ("", "mergeguard")
        output.usage_error(self.message, usage, prog)


def bad_value(argument: str, message: str) -> UsageError:
    """A usage error about one argument's value, worded as argparse words its own."""
    return UsageError(f"argument {argument}: {message}")


class Command(NamedTuple):
    """A command: its name, what runs it, and what adds its arguments to its
    parser; ``operands`` is what its usage line shows after [OPTIONS]."""

    name: str
    handler: Callable[[argparse.Namespace], None]
    arguments: Callable[[Parser], None]
    operands: str = ""


class HelpFormatter(argparse.HelpFormatter):
    """At most 100 columns, each paragraph of a description filled on its own
    (as click did), and the commands listed without argparse's header row."""

    def __init__(self, prog: str) -> None:
        width = max(min(terminal_columns(), 100) - 2, 50)
        super().__init__(prog, width=width, max_help_position=30)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = re.split(r"\n\s*\n", text.strip())
        return "\n\n".join(indent + f"\n{indent}".join(self._lines(p, width)) for p in paragraphs)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return self._lines(text, width)

    @staticmethod
    def _lines(text: str, width: int) -> list[str]:
        """``text`` filled to ``width``: its line breaks are spaces, its own
        spaces kept, and no line broken at a hyphen (``MG401-MG403``)."""
        import textwrap

        return textwrap.wrap(re.sub(r"\s*\n\s*", " ", text.strip()), width, break_on_hyphens=False)

    def _format_action(self, action: argparse.Action) -> str:
        if isinstance(action, argparse._SubParsersAction):
            return "".join(self._format_action(a) for a in action._get_subactions())
        return super()._format_action(action)


def terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it (COLUMNS,
    else stdout's terminal, else 80), without importing shutil: argparse
    makes a formatter for every option it adds, and shutil cost 2 ms a run."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    stdout = sys.__stdout__
    try:
        return (os.get_terminal_size(stdout.fileno()).columns if stdout else 0) or 80
    except (AttributeError, ValueError, OSError):  # not a terminal (as shutil)
        return 80


class Parser(argparse.ArgumentParser):
    """argparse's parser as the command line needs it: no abbreviated
    options (click had none); help printed through ``output.echo``; usage
    errors raised, not exited on (``main`` prints them and returns 2); an
    unknown argument reported by the parser it was given to (a command's
    usage line, not the group's); and a command's own arguments added only
    when that command is parsed or its help shown (the others cost nothing)."""

    def __init__(self, *, pending: Callable[[Parser], None] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(allow_abbrev=False, add_help=False, **kwargs)
        self._pending = pending
        self._has_commands = False

    def add_subparsers(self, **kwargs: Any) -> Any:
        self._has_commands = True
        return super().add_subparsers(**kwargs)

    def add_help_option(self) -> None:
        self.add_argument("-h", "--help", action="help", help="Show this message and exit.")

    def _complete(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending(self)
            self.add_help_option()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._complete()
        given = list(sys.argv[1:] if args is None else args)
        parsed, extras = super().parse_known_args(self._values_attached(given), namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def _values_attached(self, args: list[str]) -> list[str]:
        """``--message -x`` as ``--message=-x`` (``-C -x`` as ``-C-x``): an
        option that takes a value takes the next argument, whatever it looks
        like, as click did (argparse would take ``-x`` for an option).  Up to
        ``--``, or the command's name: what follows it is the command's."""
        attached: list[str] = []
        rest = iter(args)
        for arg in rest:
            action = self._option_string_actions.get(arg)
            command = self._has_commands and action is None and not arg.startswith("-")
            if arg == "--" or command:
                attached.append(arg)
                attached.extend(rest)  # "--", or the command's name: the rest as is
                break
            takes_value = action is not None and action.nargs is None  # one value
            value = next(rest, None) if takes_value else None
            if value is None:
                attached.append(arg)
            elif value.startswith("-") and value != "-":  # what argparse would take for an option
                attached.append(f"{arg}={value}" if arg.startswith("--") else arg + value)
            else:  # as argparse reads it (an empty value too)
                attached.extend((arg, value))
        return attached

    def format_help(self) -> str:
        self._complete()
        return super().format_help()

    def print_help(self, file: Any = None) -> None:
        output.echo(self.format_help(), err=file is sys.stderr, nl=False)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self)


class VersionAction(argparse.Action):
    """``--version``: what click printed, read from the package's metadata
    only when asked (``importlib.metadata`` costs milliseconds)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("mergeguard")
        except PackageNotFoundError:  # run from a checkout without installing it
            from mergeguard import __version__ as number
        output.echo(f"mergeguard, version {number}")
        parser.exit()


def command_line(description: str | None, commands: Sequence[Command]) -> Parser:
    """The whole command line: ``mergeguard [--version] [-C DIR] COMMAND ...``,
    the commands listed by name."""
    parser = Parser(prog="mergeguard", usage="%(prog)s [OPTIONS] COMMAND [ARGS]...")
    parser.description = description
    parser.add_argument("--version", action=VersionAction, help="Show the version and exit.")
    parser.add_argument(
        "-C",
        dest="before",
        type=directory,
        metavar="DIR",
        help="Run as if started in DIR (as git -C; a -C after the command is relative to it).",
    )
    parser.add_help_option()
    # not required here: an unknown option before the command is reported first
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", prog="mergeguard"
    )
    for name, handler, adds, operands in sorted(commands, key=lambda c: c.name):
        doc = handler.__doc__ or ""
        summary = " ".join(doc.split("\n\n")[0].split())
        sub = subparsers.add_parser(
            name,
            help=summary.replace("%", "%%"),  # argparse %-formats a help string
            description=doc,
            usage=f"%(prog)s [OPTIONS] {operands}".rstrip(),
            pending=adds,
        )
        sub.set_defaults(handler=handler, parser=sub)
    return parser


def start_directory(*given: Path | None) -> Path:
    """Where the command runs: ``-C`` before the command and ``-C`` after it
    combine as git's successive ``-C`` options do (``mergeguard -C a heads -C
    b`` runs in a/b; an absolute later one replaces the earlier)."""
    parts = [part for part in given if part is not None]
    return Path(*parts) if parts else Path(".")


def make_options(args: argparse.Namespace) -> Options:
    """The common options of a command (``common_options``) as a value."""
    from mergeguard.app.options import Options

    return Options(
        start_directory(args.before, args.directory),
        args.config,
        args.name,
        tuple(args.versions),
        args.base,
        recursive=args.recursive,
    )


# -- value types: a bad value is a usage error naming the option ------------------------


def directory(value: str) -> Path:
    """A directory that need not exist yet (mergeguard says so itself), but
    not a file (click.Path(file_okay=False) did the same)."""
    path = Path(value)
    if path.is_file():
        raise argparse.ArgumentTypeError(f"Directory {value!r} is a file.")
    return path


def file_path(value: str) -> Path:
    """A file that need not exist yet, but not a directory."""
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"File {value!r} is a directory.")
    return path


def int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer from ``low`` (to ``high``)."""
    return _number_range(int, "integer", low, high)


def float_range(low: float) -> Callable[[str], float]:
    """A number from ``low``."""
    return _number_range(float, "float", low, None)


def _number_range(
    kind: Callable[[str], N], name: str, low: N, high: N | None
) -> Callable[[str], N]:
    def convert(value: str) -> N:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a valid {name}.") from None
        if number < low or (high is not None and number > high):
            bounds = f"x>={low}" if high is None else f"{low}<=x<={high}"
            raise argparse.ArgumentTypeError(f"{number} is not in the range {bounds}.")
        return number

    return convert


# -- the options several commands share --------------------------------------------------


def common_options(parser: Parser) -> None:
    """``-C``, ``-c``, ``-n``, ``--versions``, ``--recursive``, ``--base``: on every command."""
    parser.add_argument(
        "-C",
        dest="directory",
        type=directory,
        metavar="DIR",
        help="Run as if started in DIR (relative to a -C before the command).",
    )
    parser.add_argument(
        "-c", "--config", type=Path, metavar="FILE", help="Alembic ini file (default: discovered)."
    )
    parser.add_argument(
        "-n", "--name", metavar="NAME", help="Ini section of the environment (like alembic -n)."
    )
    parser.add_argument(
        "--versions",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="Versions directory (repeatable); bypasses discovery.",
    )
    parser.add_argument(
        "--recursive",
        action="store_true",
        help="Read version directories recursively (Alembic's recursive_version_locations = true).",
    )
    parser.add_argument("--base", metavar="REF", help="Base ref for commands without a range.")


def format_option(parser: Parser, choices: Sequence[str], default: str) -> None:
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=choices,
        default=default,
        help="The output format (default: %(default)s).",
    )


FORMAT_HEADS = ("text", "json")


FORMAT_GRAPH = ("tree", "json", "dot", "mermaid")


FORMAT_STATUS = ("text", "json", "markdown")


FORMAT_CHECK = ("text", "json", "github", "sarif", "markdown")


def ref_option(parser: Parser, says: str = "Read this commit instead of the working tree.") -> None:
    parser.add_argument("--ref", metavar="REF", help=says)


def range_argument(parser: Parser, metavar: str = "RANGE", dest: str = "range_spec") -> None:
    """The optional range (or ref) a command reads; options may follow it."""
    parser.add_argument(dest, nargs="?", metavar=metavar, help=argparse.SUPPRESS)


def no_hooks_option(parser: Parser) -> None:
    parser.add_argument(
        "--no-hooks",
        action="store_true",
        help="Do not run the project's [post_write_hooks] on the merge file (--merge).",
    )


def no_databases_option(parser: Parser) -> None:
    parser.add_argument(
        "--no-databases",
        action="store_true",
        help="Do not read the deployed databases of [tool.mergeguard.databases].",
    )


def selectors(values: Sequence[str], option: str) -> tuple[str, ...]:
    """``--select MG1,MG2 --select x`` -> ("MG1", "MG2", "x"); unknown ones are
    a usage error (a typo must not silence a rule)."""
    from mergeguard.rules.run import unknown_selectors

    found = tuple(p.strip() for v in values for p in v.split(",") if p.strip())
    unknown = unknown_selectors(found)
    if unknown:
        names = ", ".join(unknown)
        raise bad_value(option, f"no rule is named {names} (see `mergeguard rules`)")
    return found


def require_range(range_spec: str, ref: str | None) -> None:
    """``graph RANGE``: a range A..B, and not with ``--ref``."""
    if ref is not None:
        raise UsageError("give either RANGE or --ref, not both")
    if ".." not in range_spec:
        raise bad_value(
            "RANGE", f"{range_spec!r} is not a range A..B (to draw one commit: --ref {range_spec})"
        )
