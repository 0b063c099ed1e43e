"""MG301 upgrade-fails: its documentation (`mergeguard apply` reports it)."""

from __future__ import annotations

from mergeguard.codes import Code
from mergeguard.rules.rule import Rule

CODE = Code(
    "MG301",
    "upgrade-fails",
    "error",
    "a branch alone, or the merged head, fails to upgrade on the scratch database",
)
# The hint of every MG301 finding (the finding itself is made by scratchdb.judge).
HINT = (
    "fix the failing migration (the error is the database's own); `mergeguard apply` "
    "runs it again on a fresh scratch database"
)

RULE = Rule(
    CODE,
    what="A branch alone, or the merged head, fails to upgrade on a scratch database.",
    why="What fails on an empty scratch database fails in deployment.",
    fix="Fix the failing migration named in the finding.",
)
