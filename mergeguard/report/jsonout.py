"""JSON documents (contract: mergeguard/heads/1; diagnostics as in mergeguard/check/1)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mergeguard.graph.environments import EnvironmentRead
from mergeguard.model import Counts, Diagnostic, Report


def diagnostic_dict(item: Diagnostic) -> dict[str, object]:
    """One finding in the ``findings`` shape of ``mergeguard/check/1``."""
    location = item.location
    found: dict[str, object] = {
        "code": item.code,
        "name": item.name,
        "severity": item.severity,
        "environment": item.environment,
        "path": str(location.path) if location else None,
        "line": location.line if location else None,
        "column": location.column if location else None,
        "revisions": list(item.revisions),
        "message": item.message,
        "hint": item.hint,
    }
    if item.related:  # an extra field: the other places the finding is about
        found["related"] = [{"path": str(r.path), "line": r.line} for r in item.related]
    return found


def summary(diagnostics: Sequence[Diagnostic]) -> dict[str, int]:
    counts = Counts.of(diagnostics)
    return {"errors": counts.errors, "warnings": counts.warnings}


def environment_summary(read: EnvironmentRead) -> dict[str, object]:
    """Name, snapshot and the graph's sorted heads, effective heads and bases."""
    graph = read.graph
    return {
        "name": read.environment.name,
        "ref": read.origin,
        "heads": sorted(graph.heads),
        "effective_heads": sorted(graph.effective_heads),
        "bases": sorted(graph.bases),
    }


def heads_document(reads: Sequence[EnvironmentRead], diagnostics: Sequence[Diagnostic]) -> str:
    """``mergeguard/heads/1``: per environment, sorted lists; plus the findings."""
    environments = []
    for read in reads:
        graph = read.graph
        environments.append(
            {
                **environment_summary(read),
                "revisions": sorted(graph.order),
                "branch_labels": dict(sorted(graph.label_owners.items())),
            }
        )
    document = {
        "schema": "mergeguard/heads/1",
        "environments": environments,
        "findings": [diagnostic_dict(d) for d in diagnostics],
        "summary": summary(diagnostics),
    }
    return json.dumps(document, indent=2)


def check_document(report: Report) -> str:
    """``mergeguard/check/1``: the range's shas, the findings, the counts."""
    scenario, diagnostics = report.scenario, report.diagnostics
    document = {
        "schema": "mergeguard/check/1",
        "range": {
            "base": scenario.base.sha,
            "theirs": scenario.theirs.sha,
            "ours": scenario.ours.sha,
        },
        "scenario": {
            "kind": scenario.kind,
            "theirs": scenario.theirs.label,
            "ours": scenario.ours.label,
            "conflicts": [str(p) for p in scenario.conflicts],
        },
        "findings": [diagnostic_dict(d) for d in diagnostics],
        "summary": summary(diagnostics),
    }
    return json.dumps(document, indent=2)
