"""SARIF 2.1.0 (GitHub code scanning, IDE viewers): one log, one run.

The driver lists the whole rule catalogue, so a viewer can explain a code even
when this run did not report it, and ``ruleIndex`` points into that list.
Paths are repository-relative URIs under ``%SRCROOT%``.  Each result carries a
partial fingerprint built from what identifies the finding (code, environment,
path, revisions) and not from its line, so a finding keeps its identity when
lines above it move.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

from mergeguard import __version__
from mergeguard.model import Diagnostic, Location, Report, ScenarioSummary, SideSummary
from mergeguard.report.github import message_text
from mergeguard.rules.catalogue import RULES, Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/mergeguard/"
SOURCE_ROOT = "%SRCROOT%"
FINGERPRINT_KEY = "mergeguardFinding/v1"
_FAMILIES = {"MG0": "integrity", "MG1": "topology", "MG2": "schema", "MG3": "scratch-database"}
_RULE_INDEX = {rule.code: index for index, rule in enumerate(RULES)}


def _help(rule: Rule) -> dict[str, str]:
    """``help``: why the rule matters and how to fix it (the summary when the
    catalogue has neither yet), as plain text and as Markdown."""
    parts = [(title, body) for title, body in (("Why", rule.why), ("Fix", rule.fix)) if body]
    if not parts:
        return {"text": rule.summary, "markdown": rule.summary}
    return {
        "text": "\n\n".join(f"{title}: {body}" for title, body in parts),
        "markdown": "\n\n".join(f"**{title}.** {body}" for title, body in parts),
    }


def rule_descriptor(rule: Rule) -> dict[str, object]:
    """One ``reportingDescriptor`` of ``tool.driver.rules``."""
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.what or rule.summary},
        "help": _help(rule),
        "defaultConfiguration": {"level": rule.severity},
        "properties": {"tags": [_FAMILIES.get(rule.code[:3], "other")]},
    }


def fingerprint(item: Diagnostic) -> str:
    """A stable hex digest of what identifies a finding (not its line or text)."""
    path = str(item.location.path) if item.location else ""
    key = "\0".join([item.code, item.environment, path, *sorted(item.revisions)])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _physical(location: Location) -> dict[str, object]:
    """A ``physicalLocation``: the repository-relative file and its line."""
    return {
        "artifactLocation": {
            "uri": quote(str(location.path), safe="/"),
            "uriBaseId": SOURCE_ROOT,
        },
        "region": {"startLine": location.line, "startColumn": location.column},
    }


def _locations(item: Diagnostic) -> list[dict[str, object]]:
    """The result's one physical location, or none when the finding has no file."""
    if item.location is None:
        return []
    return [{"physicalLocation": _physical(item.location)}]


def _related(item: Diagnostic) -> list[dict[str, object]]:
    """``relatedLocations``: the other side's file of a schema conflict, each
    with an id and a message naming the revision (viewers list them as links)."""
    return [
        {
            "id": index,
            "physicalLocation": _physical(location),
            "message": {"text": "the other side's change"},
        }
        for index, location in enumerate(item.related)
    ]


def result(item: Diagnostic) -> dict[str, object]:
    """One SARIF ``result`` for one finding."""
    entry: dict[str, object] = {"ruleId": item.code}
    if item.code in _RULE_INDEX:
        entry["ruleIndex"] = _RULE_INDEX[item.code]
    entry["level"] = item.severity
    entry["message"] = {"text": message_text(item)}
    locations = _locations(item)
    if locations:
        entry["locations"] = locations
    if item.related:
        entry["relatedLocations"] = _related(item)
    entry["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint(item)}
    entry["properties"] = {
        "environment": item.environment,
        "revisions": list(item.revisions),
    }
    return entry


def _side(side: SideSummary) -> dict[str, object]:
    return {"label": side.label, "sha": side.sha}


def scenario_properties(scenario: ScenarioSummary) -> dict[str, object]:
    """``run.properties``: what was compared (labels and commits of each side)."""
    return {
        "scenario": {
            "kind": scenario.kind,
            "base": _side(scenario.base),
            "theirs": _side(scenario.theirs),
            "ours": _side(scenario.ours),
            "conflicts": [str(path) for path in scenario.conflicts],
        }
    }


def document(report: Report) -> dict[str, object]:
    """The SARIF log as plain JSON values."""
    driver = {
        "name": "mergeguard",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": INFORMATION_URI,
        "rules": [rule_descriptor(rule) for rule in RULES],
    }
    run = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": [result(item) for item in report.diagnostics],
        "properties": scenario_properties(report.scenario),
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    """The SARIF log, indented, ending in a newline."""
    return json.dumps(document(report), indent=2) + "\n"
