"""The command line's shared arguments: the options on every command, where
a command runs (``-C``), the formats, and rule selectors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # a dataclass: imported when a command runs, not for `--help`
    from mergeguard.app.options import Options

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
    from mergeguard.app.options import Options

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


FORMAT_HEADS = click.Choice(["text", "json"])


FORMAT_GRAPH = click.Choice(["tree", "json", "dot", "mermaid"])


FORMAT_STATUS = click.Choice(["text", "json", "markdown"])


FORMAT_CHECK = click.Choice(["text", "json", "github", "sarif", "markdown"])


def selectors(values: Sequence[str]) -> tuple[str, ...]:
    """``--select MG1,MG2 --select x`` -> ("MG1", "MG2", "x"); unknown ones are
    a usage error (a typo must not silence a rule)."""
    from mergeguard.rules.run import unknown_selectors

    found = tuple(p.strip() for v in values for p in v.split(",") if p.strip())
    unknown = unknown_selectors(found)
    if unknown:
        raise click.BadParameter(f"no rule is named {', '.join(unknown)} (see `mergeguard rules`)")
    return found


def require_range(range_spec: str, ref: str | None) -> None:
    """``graph RANGE``: a range A..B, and not with ``--ref``."""
    if ref is not None:
        raise click.UsageError("give either RANGE or --ref, not both")
    if ".." not in range_spec:
        raise click.BadParameter(
            f"{range_spec!r} is not a range A..B (to draw one commit: --ref {range_spec})",
            param_hint="RANGE",
        )


no_hooks_option = click.option(
    "--no-hooks",
    is_flag=True,
    help="Do not run the project's [post_write_hooks] on the merge file (--merge).",
)


no_databases_option = click.option(
    "--no-databases",
    is_flag=True,
    help="Do not read the deployed databases of [tool.mergeguard.databases].",
)
