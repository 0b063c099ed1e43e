"""The documentation of every rule: What / Why / Fix (the Example section comes
from ``rules.examples``, which are also the rules' tests).

Kept apart from the catalogue so the catalogue stays a short table.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str, str]] = {
    "MG001": (
        "A file in a versions directory that Python 3 cannot parse (a syntax error, bytes "
        "that are not valid in its encoding, a binary file), or a module there that is not "
        "a migration at all (no `revision` variable).  When a file that cannot be parsed "
        "(a Python 2 migration, a syntax error below the header) still has an unambiguous "
        "header (`revision`, `down_revision`, `branch_labels`, `depends_on` each assigned "
        "once in column 0 to a literal), the finding says the header was recovered and the "
        "revision keeps its place in the graph: its children are not orphans and a fork "
        "below it is still reported.",
        "Alembic imports every `.py` file of a versions directory; one that fails stops "
        "`alembic upgrade` for everybody, and a helper module there makes Alembic refuse "
        'the directory ("Could not determine revision id from filename").',
        "Fix the syntax (the finding names the line), re-save the file as UTF-8, or move "
        "helper modules out of the versions directory (`__init__.py` is skipped).",
    ),
    "MG002": (
        "A header variable (`revision`, `down_revision`, `branch_labels`, `depends_on`) "
        "whose value is not a literal mergeguard can read without running the file: a call "
        "(`get_down_revision(revision)`), an f-string, a name bound by code.",
        "mergeguard never imports migrations (they are untrusted input in a pull request), "
        "so a computed value leaves the revision graph unknown.",
        "Write the value as a string or tuple literal.  Names imported from a module of "
        "the same repository are read statically; for anything else declare the value under "
        "`[tool.mergeguard.constants]` in pyproject.toml.",
    ),
    "MG003": (
        "Two files declare the same `revision` id.",
        "Alembic keeps only one of them (the later file it loads) and warns; the other "
        "migration silently never runs.",
        "Give one file a new id (`alembic revision` makes one) and re-point the revisions "
        "that follow it; or delete the copy.",
    ),
    "MG004": (
        "A `down_revision` or `depends_on` names a revision (or branch label) that no file "
        "declares: a typo, a file name written instead of the id, a partial id, or a parent "
        "deleted by the range.",
        'Alembic stops with a KeyError/"not present" error before doing anything.',
        "Point at the existing id; the hint names the closest one (never the revision "
        "itself), or the id declared in the file whose name was used.  When the parent "
        "exists only on the branch the work merges into (after `fix --rebase` or `fix "
        "--merge` on a branch that has not caught up), it is a warning: merge or rebase "
        "onto that branch before deploying this one alone.",
    ),
    "MG005": (
        "A cycle through `down_revision` or `depends_on` (including a revision that names itself).",
        'Alembic refuses the history ("Cycle is detected in revisions").',
        "Point one revision of the cycle at a revision outside it.",
    ),
    "MG006": (
        "A branch label declared by two revisions, or equal to a revision id (labels and "
        "ids share one namespace).",
        'Alembic refuses the history ("Branch name ... already used by revision ...").',
        "Keep the label on the first revision of its branch only, or rename it.",
    ),
    "MG007": (
        "A revision id Alembic rejects: characters `@ - + :`, an empty id, a non-string "
        "value; or `down_revision = ''`, which mergeguard reads as a base (warning).",
        'Alembic raises "Character(s) not allowed in revision identifier"; those '
        "characters have meanings in `alembic upgrade label@head+1`.",
        "Use letters, digits and underscores (`alembic revision` makes 12 hex digits); "
        "write `down_revision = None` for a base.",
    ),
    "MG008": (
        "The docstring's `Revision ID:` / `Revises:` lines disagree with the `revision` / "
        "`down_revision` variables of a file the range adds or changes (a warning).",
        "Reviewers read the docstring; after a hand edit or a rebase it lies about the "
        "history.  Only touched files are checked: old drift cannot be changed anymore.",
        "Update the docstring line; `mergeguard fix --rebase` keeps it in step itself.",
    ),
    "MG101": (
        "The checked tree has several heads on one line: heads whose ancestries share a "
        "branch label, or heads without any label.  Labelled independent lines "
        "(expand/contract, several labelled bases) are fine.",
        '`alembic upgrade head` (or `label@head`) fails with "Multiple head revisions are '
        'present".  In a range, heads the left side already had are one warning.',
        "Join the heads with a merge revision: `mergeguard fix --merge` (under "
        "pre-commit: `pre-commit run --hook-stage manual mergeguard-fix-merge`).",
    ),
    "MG102": (
        "Each side of the range is fine alone, but both added revisions on diverging heads "
        "since the merge base: after the merge the history has several heads.  Reported "
        "before the merge, naming both revisions and the fork point.",
        "git merges the files cleanly and every pull request was green; deployment then "
        'fails with "Multiple head revisions".',
        "Move this branch's revisions onto the other side's head (`mergeguard fix "
        "--rebase A..B`, safe while they are unpublished), or add a merge revision "
        "(`mergeguard fix --merge A..B`).  Under pre-commit the hint names the "
        "manual-stage hooks instead: `pre-commit run --hook-stage manual "
        "mergeguard-fix-rebase` (or `mergeguard-fix-merge`).",
    ),
    "MG103": (
        "A published revision was re-pointed (`down_revision`, `depends_on` or "
        "`branch_labels` changed), renamed (new id in the same file) or deleted on the "
        "checked side.  Published means on the branch the work merges into (the left side "
        "of the range, or the base: `--base`, `[tool.mergeguard] base`, the remote's "
        "default branch), or on a ref matching `[tool.mergeguard] published` (e.g. "
        '`["refs/tags/v*", "origin/release/*"]`).  A revision only on the feature branch '
        "and its own remote copy (`origin/feature`) is not published: rebasing it and "
        "force-pushing is the normal flow.",
        "Databases that already applied it record its id; Alembic then skips or repeats "
        "migrations silently.",
        "Restore the revision as published; put new work in a new revision or join heads "
        "with `mergeguard fix --merge` (never `--rebase` a published revision).",
    ),
    "MG104": (
        "The range adds a root (`down_revision = None`) without a branch label to an "
        "environment that already had revisions.",
        "A second unlabelled root is a second unlabelled head: `alembic upgrade head` fails.",
        "Point `down_revision` at the current head, or label the new independent line "
        "(`branch_labels = ('name',)`).",
    ),
    "MG105": (
        'Both sides add the same revision id with different content (two "003" files). '
        "The sides are the branch the work merges into and the checked side; the branch's "
        "own remote copy is not a side, so a rebased revision is no collision.",
        "After the merge Alembic keeps one file and drops the other (MG003), so one "
        "branch's migration never runs.",
        "Give one of them a new id and re-point what follows it.",
    ),
    "MG106": (
        "A new merge revision joins heads that another merge revision already joins, or "
        "joins a revision with its own ancestor (a warning).",
        "It adds a no-op node that makes the history harder to read and to rebase.",
        "Delete the redundant merge revision, or make it join only the heads that remain.",
    ),
    "MG201": (
        "Both sides of the merge add the same column: the two sides of the git range (what "
        "each added since the merge base), or sibling branches within one side.  The sides "
        "are those of git, not of Alembic's graph: re-pointing one side's revision onto the "
        "other's (a rebase) makes them linear, but both still add the column; after `git "
        "rebase` onto the target, what the branch adds is compared with the recent history "
        "it now follows.  A revision "
        "both sides have under one id (a cherry-pick, a squash merge) is not added twice.  "
        "The same migration committed on both sides under two ids is reported once, as a "
        "twin, when the two revisions' readable operations are equal (and none is opaque) "
        "or their normalised `upgrade()` code is identical; revisions that only do what "
        "cannot be read statically (helper calls, `conn.execute(...)`, loops) are never "
        "twins.",
        'Whichever side runs second fails with "duplicate column".',
        "Keep the column on one side, or move it into the merge revision.",
    ),
    "MG202": (
        "Both sides of the merge (the two sides of the range, or sibling branches within "
        "one side) create the same table, in the same schema.",
        'Whichever side runs second fails with "table already exists"; a rebase does not '
        "change that.",
        "Keep the table on one side, or move it into the merge revision.",
    ),
    "MG203": (
        "Both sides of the merge create an index, unique or primary-key constraint or named "
        "type with the same name in one schema, or a foreign-key or check constraint with "
        "the same name on the same table.  An object a side drops and creates again "
        "existed before: recreating it is not a duplicate.  An index both sides put on a "
        "column both add (`index=True`) is part of that column's MG201.",
        'Whichever side runs second fails with "already exists".',
        "Keep it on one side, or rename one of them.",
    ),
    "MG204": (
        "One side drops a table or column that the other adds to, alters, renames or "
        "indexes (a column dropped and re-added on the same side is not a drop).",
        "The result depends on the order the sides run in, and one order fails.",
        "Reconcile the two changes in one branch, or in the merge revision.",
    ),
    "MG205": (
        "Both sides alter the same column to different states (a setting both give, with "
        "different values; types compared as spelled the same, `sa.VARCHAR(100)` = "
        "`sa.String(length=100)`), or one side renames a column the other alters.  "
        "Alterations that set the same state, or settings that do not touch each other, "
        "are not conflicts.",
        "The second alteration fails or silently wins.",
        "Decide on one change and keep it in one branch.",
    ),
    "MG301": (
        "A branch alone, or the merged head, fails to upgrade on a scratch database.",
        "What fails on an empty scratch database fails in deployment.",
        "Fix the failing migration named in the finding.",
    ),
    "MG302": (
        "Sibling branches applied in different orders fail or give different schemas.",
        "Alembic may run sibling branches in any order.",
        "Make the branches independent, or order them with depends_on or a merge.",
    ),
    "MG303": (
        "The way back down fails.",
        "A downgrade that fails blocks a rollback when it is needed most.",
        "Fix the failing downgrade() named in the finding.",
    ),
    "MG304": (
        "Downgrade then upgrade does not give back the same schema.",
        "downgrade() does not undo upgrade(); the next upgrade fails or drifts.",
        "Make downgrade() the inverse of upgrade().",
    ),
}
