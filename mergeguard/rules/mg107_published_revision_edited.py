"""MG107 published-revision-edited: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.revisions import location_of
from mergeguard.graph.scenario import MERGE, MergeScenario, Side
from mergeguard.model import Diagnostic, FileEntry, Location, MigrationScript
from mergeguard.rules.rule import Rule, matches

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

if TYPE_CHECKING:  # the reader is imported when a published file changed: most checks never
    from mergeguard.parse.bodies import Body, Change
    from mergeguard.parse.module_code import MigrationCode

CODE = Code(
    "MG107",
    "published-revision-edited",
    "error",
    "the upgrade/downgrade code of a published revision changed",
)
Bodies = dict[str, "Body"]
MODULE_CODE = "module-level code"
MULTIDB_PREFIXES = ("upgrade_", "downgrade_")  # the multidb template's per-engine functions


def published_revision_edited(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG107: a published revision (as MG103 means it) whose ``upgrade*()`` or
    ``downgrade*()`` code differs on the checked side.  Only the revisions
    whose file changed (another blob) are read; a re-pointed, renamed or
    deleted one is MG103's alone."""
    if not scenario.has_base or scenario.kind == MERGE:
        return  # during a merge, as for MG103: the sides are HEAD and MERGE_HEAD
    candidates = _candidates(scenario, env)
    if not candidates:
        return
    bodies = _BodyReader()
    bodies.read(scenario.ours, [after for _, _, after in candidates])
    for side in {id(side): side for side, _, _ in candidates}.values():
        bodies.read(side, [before for source, before, _ in candidates if source is side])
    for _, before, after in candidates:
        old, new = bodies.of(before), bodies.of(after)
        if old is None or new is None:
            continue  # a file ast cannot read: MG001 says so on the side that has it
        edit = _first_edit(old, new)
        if edit is None:
            continue
        where = _where_published(scenario, env, before, old, bodies)
        if where is None:
            continue  # the target edited it too (or dropped it): not this range's doing
        subject, change = edit
        yield diagnostic(
            CODE,
            f"revision {after.revision} is published on {where} but {scenario.ours.label} "
            f"edits {subject} ({change.what}); databases that already applied it "
            "will never run the edited code",
            Location(after.path, change.line, 1) if change.line else location_of(after),
            hint=f"restore {subject.removeprefix('its ')} of revision {after.revision} as "
            f"{where} has it and put the change in a new revision (`alembic revision`); for a "
            "deliberate fix, waive it with `# mergeguard: ignore[MG107]` in the edited "
            f"{'statement' if subject == MODULE_CODE else 'function'}",
            revisions=(after.revision,),
            environment=env,
        )


def _candidates(
    scenario: MergeScenario, env: str
) -> list[tuple[Side, MigrationScript, MigrationScript]]:
    """The edited files, less the revision ids two files declare (MG003:
    there is no one version to compare)."""
    candidates = list(_edited_files(scenario, env))
    if not candidates:
        return []
    doubled = _declared_twice(scenario.ours, env, {after.revision for _, _, after in candidates})
    for side in {id(side): side for side, _, _ in candidates}.values():
        doubled |= _declared_twice(side, env, {b.revision for s, b, _ in candidates if s is side})
    return [c for c in candidates if c[2].revision not in doubled]


def _edited_files(
    scenario: MergeScenario, env: str
) -> Iterator[tuple[Side, MigrationScript, MigrationScript]]:
    """(side, its script, ours) for each revision of the merge base (then of a
    ``published`` ref the checked commit contains) that ours keeps in place
    (same parents, labels, depends_on: else it is MG103's) in another file
    version.  Comparing blob ids costs no reading."""
    ours = scenario.ours.scripts(env)
    seen: set[str] = set()  # yielded from an earlier side
    for side in (scenario.base, *scenario.published.sides(below_ours=True)):
        for revision, before in side.scripts(env).items():
            after = ours.get(revision)
            if after is None or after is before or after.blob == before.blob:
                continue
            if revision not in seen and _shape(after) == _shape(before):
                seen.add(revision)
                yield side, before, after


def _declared_twice(side: Side, env: str, revisions: set[str]) -> set[str]:
    """Those of ``revisions`` that more than one file of ``side`` declares."""
    read = side.reads.get(env)
    seen: set[str] = set()
    twice: set[str] = set()
    for script in read.scripts if read is not None else ():
        if script.revision in revisions:
            (twice if script.revision in seen else seen).add(script.revision)
    return twice


def _shape(script: MigrationScript) -> tuple[object, ...]:
    return (script.down_revisions, script.depends_on, script.branch_labels)


def _first_edit(old: MigrationCode, new: MigrationCode) -> tuple[str, Change] | None:
    """(what, change) of the first edit in the new file's order (a removed
    function last), skipping those that waive MG107: a function's, or the
    module-level code's (``module_code``)."""
    from mergeguard.parse.bodies import Change, first_change
    from mergeguard.parse.module_code import module_changes

    edits: list[tuple[str, Change]] = []
    for name, body in new.bodies.items():
        was = old.bodies.get(name)
        if was is not None and was.digest == body.digest:
            continue
        if was is None and not _alembic_runs(name, old.bodies):
            continue  # a new function no env.py calls: harmless
        if any(matches(p, CODE.code, CODE.name) for p in body.ignores):
            continue  # `# mergeguard: ignore[MG107]` inside the edited function
        change = first_change(was, body) if was else Change(body.line, f"adds {name}()")
        edits.append((f"its {name}()", change))
    module = next(  # the first module-level change not waived where it stands
        (
            change
            for change in module_changes(old.module, new.module)
            if not any(matches(p, CODE.code, CODE.name) for p in new.module.ignores_at(change.line))
        ),
        None,
    )
    if module is not None:
        edits.append((MODULE_CODE, module))
    if edits:
        return min(edits, key=lambda edit: edit[1].line)
    removed = [n for n in old.bodies if n not in new.bodies and _alembic_runs(n, new.bodies)]
    return (f"its {removed[0]}()", Change(0, f"removes {removed[0]}()")) if removed else None


def _alembic_runs(name: str, other: Bodies) -> bool:
    """Whether a function that only one version has is one Alembic runs, the
    other version's functions ``other`` telling the template: the generic
    template's env.py calls ``upgrade()`` / ``downgrade()``, the multidb one
    ``upgrade_<engine>()`` / ``downgrade_<engine>()``, so an ``upgrade_<x>()``
    counts only where the other version has functions of that form too."""
    if name in ("upgrade", "downgrade"):
        return True
    return name.startswith(MULTIDB_PREFIXES) and any(n.startswith(MULTIDB_PREFIXES) for n in other)


def _where_published(
    scenario: MergeScenario,
    env: str,
    before: MigrationScript,
    old: MigrationCode,
    bodies: _BodyReader,
) -> str | None:
    """Where ``before``'s code is published: ``theirs`` or the first
    ``published`` ref holding the revision with the same code (as
    ``published_on``, comparing function digests; the same blob is the same
    code without reading)."""
    wanted = _digests(old)
    candidates = [(scenario.theirs, scenario.theirs.scripts(env).get(before.revision))]
    candidates += [(side, found) for side, found in scenario.published.find(env, before.revision)]
    for side, script in candidates:
        if script is None:
            continue
        if script.blob == before.blob:
            return side.label
        bodies.read(side, [script])
        found = bodies.of(script)
        if found is not None and _digests(found) == wanted:
            return side.label
    return None


def _digests(code: MigrationCode) -> tuple[dict[str, str], str]:
    return {name: body.digest for name, body in code.bodies.items()}, code.module.digest


class _BodyReader:
    """The bodies of the few files MG107 compares, read once per blob (a plain
    class: a dataclass would import dataclasses on every check's path)."""

    def __init__(self, by_blob: dict[str, MigrationCode | None] | None = None) -> None:
        self.by_blob = by_blob

    def read(self, side: Side, scripts: Sequence[MigrationScript]) -> None:
        from mergeguard.parse.module_code import read_code

        known = self.by_blob = {} if self.by_blob is None else self.by_blob
        missing = {s.blob: FileEntry(s.path, s.blob) for s in scripts if s.blob not in known}
        if not missing or side.snapshot is None:
            return
        for source in side.snapshot.read_many(list(missing.values())):
            known[source.blob] = read_code(source.text)

    def of(self, script: MigrationScript) -> MigrationCode | None:
        return (self.by_blob or {}).get(script.blob)


def _b2_file(table: str, extra: str = "") -> str:
    """b2 with its table name in a module-level constant."""
    return (
        '"""add users.name\n\nRevision ID: b2\nRevises: a1\n"""\n'
        "from alembic import op\nimport sqlalchemy as sa\n\n"
        "revision = 'b2'\ndown_revision = 'a1'\nbranch_labels = None\ndepends_on = None\n\n"
        f"TABLE = '{table}'\n\n\n"
        "def upgrade():\n    op.add_column(TABLE, sa.Column('name', sa.String(50)))\n\n\n"
        f"def downgrade():\n    op.drop_column(TABLE, 'name')\n{extra}"
    )


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import A1, B2, Example, Rev

    b2_wider = Rev(
        "b2", "a1", message=B2.message, upgrade=B2.upgrade.replace("String(50)", "String(100)")
    )
    b2_table = Rev("b2", "a1", message=B2.message, text=_b2_file("users"))

    return (
        Example(
            "a published revision's upgrade() is edited in place",
            (A1, B2),
            ours=(b2_wider,),
            expect=("MG107",),
        ),
        Example(
            "only a comment is added to a published revision",
            (A1, B2),
            ours=(Rev("b2", "a1", message=B2.message, upgrade=f"# users.name\n{B2.upgrade}"),),
        ),
        Example(
            "a deliberate fix, waived in the edited function",
            (A1, B2),
            ours=(
                Rev(
                    "b2",
                    "a1",
                    message=B2.message,
                    upgrade=f"# mergeguard: ignore[MG107] (no database has run b2)\n"
                    f"{b2_wider.upgrade}",
                ),
            ),
        ),
        Example(
            "a module-level constant the published upgrade() uses is edited "
            "(`TABLE = 'users'` becomes `TABLE = 'accounts'`)",
            (A1, b2_table),
            ours=(Rev("b2", "a1", message=B2.message, text=_b2_file("accounts")),),
            expect=("MG107",),
        ),
        Example(
            "a new `upgrade_notes()` that no env.py calls is added to a published revision",
            (A1, b2_table),
            ours=(
                Rev(
                    "b2",
                    "a1",
                    message=B2.message,
                    text=_b2_file("users", "\n\ndef upgrade_notes():\n    return 'users.name'\n"),
                ),
            ),
        ),
        Example(
            "the change goes into a new revision",
            (A1, B2),
            ours=(
                Rev(
                    "c3",
                    "b2",
                    upgrade="op.alter_column('users', 'name', type_=sa.String(100))",
                ),
            ),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "The code of a published revision differs on the checked side: its `upgrade()` / "
        "`downgrade()` functions (`upgrade_<engine>()` / `downgrade_<engine>()` of the "
        "multidb template included), or its other module-level code, the constants and "
        "helper functions they use.  Published means what it means for MG103: the "
        "revision is on the branch the work merges into, or on a `[tool.mergeguard] "
        "published` ref.  The code is compared as normalised syntax: comments, blank "
        "lines, line breaks, quote style, docstrings, `pass`, annotations (of a "
        "signature, or of an assignment: `NAME: str = ...` is `NAME = ...`) and "
        "module-level `if TYPE_CHECKING:` blocks do not count, so a formatting-only, "
        "comment-only or docstring-only edit is quiet.  Imports are compared as a set "
        "(isort or ruff reordering, "
        "merging or splitting them is quiet); imports from `__future__`, `typing`, "
        "`typing_extensions` and `collections.abc`, and imports of names the file never "
        "uses (ruff removing one is no edit), do not count; the module docstring and "
        "the revision identifiers (`revision`, `down_revision`, `branch_labels`, "
        "`depends_on`, annotated or not: MG103's) are left out.  A function that only "
        "one version has counts when Alembic runs it: `upgrade()` / `downgrade()`, or an "
        "`upgrade_<x>()` / `downgrade_<x>()` where the other version has functions of that "
        "form (the multidb template's env.py calls one per database); a new "
        "`upgrade_notes()` next to a plain `upgrade()` runs nowhere and is quiet.  The "
        "finding names the first changed line and what changed there.  A revision that "
        "was also re-pointed, renamed or deleted is reported by MG103 alone, and, as "
        "MG103, MG107 judges ranges and trees, not a merge in progress.  Only revisions "
        "whose file changed are read.  To waive a deliberate fix, write "
        "`# mergeguard: ignore[MG107]` anywhere in the edited function, on the edited "
        "module-level statement (anywhere in an edited helper function), or on the "
        "`down_revision` line, as for every rule."
    ),
    why=(
        "A database that already applied the revision never runs it again: the edit "
        "reaches new databases only, and deployed ones silently keep the old schema.  "
        "A constant or a helper function is part of that code as much as `upgrade()` is."
    ),
    fix=(
        "Restore the published code and put the change in a new revision "
        "(`alembic revision`); waive a deliberate fix (one that must not reach "
        "deployed databases, or that they already have) with "
        "`# mergeguard: ignore[MG107]` in the edited function or statement."
    ),
    build_examples=_examples,
    check=published_revision_edited,
)
