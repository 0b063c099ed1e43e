"""Where a ``mergeguard check`` spends its time, for ``run.py --profile``.

Runs ``python -m cProfile -o FILE -m mergeguard check main..feature`` in the
generated history, warm (after a run that fills the cache) and with no cache
(``MERGEGUARD_NO_CACHE=1``), and splits the profile into buckets.  Nothing in
mergeguard is changed for this: attribution is by the source path of each
function in the profile.

Every function's own time (``tottime``) goes to one bucket by its file:

* imports: importlib's frames and modules' top-level code (``<module>``);
* git: ``mergeguard/git/*``, ``subprocess``, ``selectors``;
* cache: ``mergeguard/graph/cache*.py``, ``json``;
* parse: ``mergeguard/parse/*``;
* graph: ``mergeguard/graph/{building,revisions,walks,queries,scenario}.py``;
* rules: ``mergeguard/rules/*``;
* render: ``mergeguard/report/*``, ``mergeguard/app/cli_output.py``;
* other mergeguard: the rest of ``mergeguard/`` (config, app, model, ...).

A function of no bucket (a builtin such as ``posix.read`` or ``compile``, the
standard library, rich, libcst) takes its callers' buckets, shared in
proportion to the time cProfile records for each caller: ``ast.parse`` called
from the parser is parse, ``posix.read`` under ``subprocess`` is git, and
what module bodies call while importing is imports.  What has no caller left
is "other".  "interpreter, outside profile" is the wall time minus the
profile's total: interpreter start and exit (atexit handlers, a worker pool's
shut-down), the profiler's own start and writing the profile.

cProfile slows pure-Python code down (often 1.5-2x), so read the shares;
the seconds are the profiled run's.
"""

from __future__ import annotations

import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from run import Bench, Scenario

Key = tuple[str, int, str]  # (file, line, function) as pstats names a function
BUCKETS = (
    "interpreter, outside profile",
    "start-up: imports",
    "git",
    "cache",
    "parse",
    "graph",
    "rules",
    "render",
    "other mergeguard",
    "other",
)
GRAPH_FILES = re.compile(r"/mergeguard/graph/(building|revisions|walks|queries|scenario)\.py$")
CACHE_FILES = re.compile(r"/mergeguard/graph/cache[^/]*\.py$")
GIT_FILES = re.compile(r"/mergeguard/git/|/subprocess\.py$|/selectors\.py$")


def own_bucket(key: Key) -> str | None:
    """The bucket a function's file decides, or None when its callers decide."""
    path, _, name = key
    path = path.replace("\\", "/")
    if path.startswith("<frozen importlib") or name == "<module>":
        return "start-up: imports"
    if GIT_FILES.search(path):
        return "git"
    if CACHE_FILES.search(path) or "/json/" in path:
        return "cache"
    if "/mergeguard/parse/" in path:
        return "parse"
    if GRAPH_FILES.search(path):
        return "graph"
    if "/mergeguard/rules/" in path:
        return "rules"
    if "/mergeguard/report/" in path or path.endswith("/mergeguard/app/cli_output.py"):
        return "render"
    if "/mergeguard/" in path:
        return "other mergeguard"
    return None


class Attribution:
    """Each function's share of every bucket, from its file or its callers'."""

    def __init__(self, stats: dict[Key, Any]) -> None:
        self.stats = stats
        self.memo: dict[Key, dict[str, float]] = {}

    def shares(self, key: Key, path: frozenset[Key] = frozenset()) -> dict[str, float]:
        if key in self.memo:
            return self.memo[key]
        own = own_bucket(key)
        if own is not None:
            return {own: 1.0}
        inside = path | {key}
        callers = {
            caller: edge
            for caller, edge in (self.stats[key][4] if key in self.stats else {}).items()
            if caller not in inside  # recursion: the callers outside the cycle decide
        }
        # weight by the time spent in ``key`` when called from each caller;
        # a caller that cProfile gives no time falls back to call counts
        weights = {caller: edge[2] for caller, edge in callers.items()}
        if sum(weights.values()) <= 0:
            weights = {caller: float(edge[1]) for caller, edge in callers.items()}
        total = sum(weights.values())
        result: dict[str, float] = defaultdict(float)
        for caller, weight in weights.items():
            if weight <= 0:
                continue
            for bucket, share in self.shares(caller, inside).items():
                result[bucket] += share * weight / total
        found = sum(result.values())
        if found <= 0:
            return {}  # only callers inside the cycle: not memoised, another path decides
        self.memo[key] = {bucket: share / found for bucket, share in result.items()}
        return self.memo[key]


def attribute(profile: Path, wall: float) -> dict[str, float]:
    """Seconds per bucket of one profiled run that took ``wall`` seconds."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    stats: dict[Key, Any] = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    attribution = Attribution(stats)
    seconds: dict[str, float] = dict.fromkeys(BUCKETS, 0.0)
    for key, (_, _, tottime, _, _) in stats.items():
        shares = attribution.shares(key) or {"other": 1.0}  # no caller: the root
        for bucket, share in shares.items():
            seconds[bucket] += tottime * share
    profiled = sum(entry[2] for entry in stats.values())
    seconds["interpreter, outside profile"] = max(0.0, wall - profiled)
    return seconds


def profiled_run(bench: Bench, scenario: Scenario, args: Sequence[str]) -> tuple[float, Path]:
    """One run under cProfile: (wall seconds, profile file)."""
    out = Path(tempfile.mkdtemp(prefix="mergeguard-profile-")) / f"{scenario.key}.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "mergeguard", *args]
    env = bench.env(scenario)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=bench.repo, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0 or not out.exists():
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise SystemExit(f"profiled run failed (exit {done.returncode}): {' '.join(tail)}")
    return wall, out


def budget_table(columns: dict[str, dict[str, float]]) -> str:
    names = list(columns)
    lines = [["bucket", *(f"{name} s" for name in names), *(f"{name} %" for name in names)]]
    totals = {name: sum(columns[name].values()) for name in names}
    for bucket in (*BUCKETS, "total"):
        values = [totals[n] if bucket == "total" else columns[n][bucket] for n in names]
        shares = [
            100.0 * v / totals[n] if totals[n] else 0.0 for v, n in zip(values, names, strict=True)
        ]
        lines.append([bucket, *(f"{v:.3f}" for v in values), *(f"{share:.1f}" for share in shares)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def profile_check(
    bench: Bench, args: Sequence[str], scenarios: Sequence[Scenario], size: int
) -> int:
    """Print the time budget of a warm and a no-cache ``check``; 0 when both ran."""
    if not bench.default_mergeguard and bench.mergeguard[1:3] != ["-m", "mergeguard"]:
        raise SystemExit("--profile runs `python -m mergeguard`: give no --mergeguard")
    by_cache = {s.cache: s for s in scenarios if tuple(s.args) == tuple(args)}
    columns: dict[str, dict[str, float]] = {}
    walls: dict[str, float] = {}
    for name, cache in (("warm", "warm"), ("no cache", "off")):
        scenario = by_cache[cache]
        # one plain run first: bytecode, and for "warm" the parse cache
        subprocess.run(
            bench.command(scenario), cwd=bench.repo, env=bench.env(scenario), capture_output=True
        )
        walls[name], profile = profiled_run(bench, scenario, args)
        columns[name] = attribute(profile, walls[name])
        os.unlink(profile)
        os.rmdir(profile.parent)
    print(f"mergeguard {' '.join(args)} at {size} revisions, under cProfile ({bench.repo})")
    print(budget_table(columns))
    print(
        "\nwall: "
        + ", ".join(f"{name} {wall:.2f} s" for name, wall in walls.items())
        + f"; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}. "
        "cProfile slows Python code down: compare shares, and the timed table for seconds."
    )
    return 0
