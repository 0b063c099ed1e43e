"""MG304 roundtrip-drift: its documentation (`mergeguard apply` reports it)."""

from __future__ import annotations

from mergeguard.codes import Code
from mergeguard.rules.rule import Rule

CODE = Code(
    "MG304",
    "roundtrip-drift",
    "error",
    "downgrade then upgrade does not give back the same schema",
)
# The hint of every MG304 finding (the finding itself is made by scratchdb.judge).
HINT = "make downgrade() undo exactly what upgrade() does"

RULE = Rule(
    CODE,
    what="Downgrade then upgrade does not give back the same schema.",
    why="downgrade() does not undo upgrade(); the next upgrade fails or drifts.",
    fix="Make downgrade() the inverse of upgrade().",
)
