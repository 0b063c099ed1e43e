"""MG008 docstring-drift: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard import codes
from mergeguard.codes import diagnostic
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic, Location, MigrationScript, Span
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = codes.MG008


def docstring_drift(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG008 in the files the range touches (old drift cannot be changed anymore)."""
    read = scenario.checked.reads.get(env)
    if read is None:
        return
    touched = scenario.touched
    names = {path.name for path in touched}  # by name first: hashing every path costs more
    for script in read.scripts:
        if script.path.name in names and script.path in touched:
            yield from script_drift(script, env)


def _doc_location(script: MigrationScript, span: Span | None) -> Location:
    span = span or script.spans.docstring or Span(1)
    return Location(script.path, span.line, span.column)


def script_drift(script: MigrationScript, env: str) -> Iterator[Diagnostic]:
    """MG008: ``Revision ID:`` / ``Revises:`` disagree with the variables."""
    doc_id, revises = script.doc_revision_id, script.doc_revises
    if doc_id is not None and doc_id != script.revision:
        yield diagnostic(
            CODE,
            f"the docstring of {script.path} says `Revision ID: {doc_id}` but revision = "
            f"{script.revision!r}",
            _doc_location(script, script.spans.doc_revision_id),
            hint=f"change the docstring line to `Revision ID: {script.revision}`",
            revisions=(script.revision,),
            environment=env,
        )
    if revises is not None and script.complete and set(revises) != set(script.down_revisions):
        wanted = ", ".join(script.down_revisions)
        yield diagnostic(
            CODE,
            f"the docstring of {script.path} says `Revises: {', '.join(revises)}` but "
            f"down_revision is {wanted or 'None'}",
            _doc_location(script, script.spans.doc_revises),
            hint=f"change the docstring line to `Revises: {wanted}`",
            revisions=(script.revision,),
            environment=env,
        )


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "the docstring's Revises: line lies",
            LINE,
            ours=(Rev("c3", "b2", doc_revises="a1"),),
            expect=("MG008",),
        ),
        Example("the docstring agrees", LINE, ours=(Rev("c3", "b2"),)),
    )


RULE = Rule(
    CODE,
    what=(
        "The docstring's `Revision ID:` / `Revises:` lines disagree with the `revision` / "
        "`down_revision` variables of a file the range adds or changes (a warning)."
    ),
    why=(
        "Reviewers read the docstring; after a hand edit or a rebase it lies about the "
        "history.  Only touched files are checked: old drift cannot be changed anymore."
    ),
    fix="Update the docstring line; `mergeguard fix --rebase` keeps it in step itself.",
    build_examples=_examples,
    check=docstring_drift,
)
