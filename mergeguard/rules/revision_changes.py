"""How a revision's place in the graph changed between two versions of it:
re-pointed, renamed (a new id in the same file) or deleted.  MG103 asks it of
published revisions, MG402 of those a deployed database has applied."""

from __future__ import annotations

from mergeguard.model import MigrationScript


def shape(script: MigrationScript) -> tuple[object, ...]:
    """What decides a revision's place: its parents, dependencies and labels."""
    return (script.down_revisions, script.depends_on, script.branch_labels)


def kept(after: MigrationScript | None, before: MigrationScript) -> bool:
    """True when ``after`` keeps the place ``before`` had in the graph."""
    return after is not None and (after is before or shape(after) == shape(before))


def change(
    before: MigrationScript, after: MigrationScript | None, same_path: MigrationScript | None
) -> tuple[str, MigrationScript | None]:
    """What became of ``before`` (``after``: the same id on the other side;
    ``same_path``: the script the other side has in ``before``'s file), as
    words for a message, and the script the finding points at (None when
    the file is gone)."""
    if after is not None:
        old, new = ", ".join(before.down_revisions) or "None", ", ".join(after.down_revisions)
        if before.down_revisions != after.down_revisions:
            return f"re-points its down_revision from {old} to {new or 'None'}", after
        return "changes its depends_on or branch_labels", after
    if same_path is not None:
        return f"renamed it to {same_path.revision} in {same_path.path}", same_path
    return f"deleted it ({before.path})", None
