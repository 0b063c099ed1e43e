"""MG302 order-dependent-branches: its documentation (`mergeguard apply` reports it)."""

from __future__ import annotations

from mergeguard.codes import Code
from mergeguard.rules.rule import Rule

CODE = Code(
    "MG302",
    "order-dependent-branches",
    "error",
    "sibling branches applied in different orders fail or give different schemas",
)
# The hint of every MG302 finding (the finding itself is made by scratchdb.judge).
HINT = (
    "make the sibling branches independent of each other, or order them with "
    "depends_on or a merge revision that does the shared part"
)

RULE = Rule(
    CODE,
    what="Sibling branches applied in different orders fail or give different schemas.",
    why="Alembic may run sibling branches in any order.",
    fix="Make the branches independent, or order them with depends_on or a merge.",
)
