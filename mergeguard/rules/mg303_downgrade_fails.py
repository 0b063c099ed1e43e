"""MG303 downgrade-fails: its documentation (`mergeguard apply` reports it)."""

from __future__ import annotations

from mergeguard.codes import Code
from mergeguard.rules.rule import Rule

CODE = Code(
    "MG303",
    "downgrade-fails",
    "error",
    "the way back down fails",
)
# The hint of every MG303 finding (the finding itself is made by scratchdb.judge).
HINT = "fix downgrade() of the failing revision so that the way back works"

RULE = Rule(
    CODE,
    what="The way back down fails.",
    why="A downgrade that fails blocks a rollback when it is needed most.",
    fix="Fix the failing downgrade() named in the finding.",
)
