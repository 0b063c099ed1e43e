"""The worker protocol: documents round-trip, and what the worker sends back is checked."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mergeguard.scratchdb.crash import read_progress
from mergeguard.scratchdb.protocol import (
    DOWN_TO_BASE,
    Done,
    Location,
    MissingModule,
    Outcome,
    PathResult,
    Plan,
    ProtocolError,
    Reset,
    Running,
    RunPath,
    Step,
    StepAt,
    StepRun,
    decode,
    encode,
)


def test_a_plan_and_an_outcome_round_trip() -> None:
    steps = (Step.upgrade("a1"), Step.upgrade(("b2", "c3")), Step.schema("up"), DOWN_TO_BASE)
    plan = Plan(
        "/x",
        "sqlite:////tmp/s.db",
        (RunPath("one", steps),),
        reset=Reset("sqlite-file", path="/tmp/s.db"),
        timeout=3.0,
    )
    assert Plan.from_json(decode(encode(plan.to_json()), "plan")) == plan
    at = steps[1].at(1)
    assert at.to_json() == {"op": "upgrade", "target": ["b2", "c3"], "index": 1}
    result = PathResult(
        "one",
        ok=False,
        failed_step=at,
        error="boom",
        location=Location("/x/versions/b2.py", 7),
        missing_module=MissingModule("app", None, None),
        ran=("a1",),
        steps=(StepRun(steps[0].at(0), True, ("a1",), 0.1), StepRun(at, False, (), None)),
        schemas={"up": {"tables": {"t": {"columns": {}}}, "enums": [], "version": ["a1"]}},
    )
    outcome = Outcome("builtin", "ImportError: app", (result,))
    assert Outcome.from_json(decode(encode(outcome.to_json()), "result")) == outcome
    assert read_progress(encode(Done(result).to_json())).done == [result]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be an object"),
        ({"error": "internal error: KeyError: 'x'"}, "the worker reported: internal error"),
        ({"env_used": "project", "paths": {}}, "'paths' must be list"),
        ({"env_used": "mine", "paths": []}, "'env_used' must be one of"),
        ({"env_used": "project", "paths": [{"name": "a"}]}, "paths[0]: 'ok' is required"),
        ({"env_used": "project", "paths": [{"name": "a", "ok": "yes"}]}, "'ok' must be bool"),
        (
            {"env_used": "project", "paths": [{"name": "a", "ok": False, "failed_step": {}}]},
            "failed_step: 'op' is required",
        ),
        (
            {"env_used": "project", "paths": [{"name": "a", "ok": True, "schemas": {"up": []}}]},
            "schemas['up'] must be an object",
        ),
        (
            {"env_used": "project", "paths": [{"name": "a", "ok": True, "ran": [1]}]},
            "'ran' must be a list of revisions",
        ),
    ],
)
def test_a_malformed_result_is_refused_with_a_reason(document: Any, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        Outcome.from_json(document)


def test_progress_lines_that_are_not_entries_are_skipped() -> None:
    text = "\n".join(
        [
            encode(Running("b2 alone", StepAt("upgrade", "b2", 0), "b2").to_json()),
            '{"done": {"name": 3}}',  # not a result: skipped
            "[1, 2]",
            '{"running": {"path": "b2 al',
        ]
    )
    crash = read_progress(text)
    assert crash.done == [] and crash.running == Running(
        "b2 alone", StepAt("upgrade", "b2", 0), "b2"
    )
