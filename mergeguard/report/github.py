"""GitHub Actions workflow commands: one ``::error`` / ``::warning`` line per finding.

GitHub turns each line into an annotation on the file and line it names.  The
escaping is the one of GitHub's own toolkit (``@actions/core``, command.ts):
message data escapes ``%``, ``\\r`` and ``\\n``; property values also escape
``:`` and ``,``, which would otherwise end the value.  Beyond the toolkit,
every other unprintable character (ESC, BEL, bidirectional overrides) is
shown as an escape (``\\x1b``): the runner echoes the line to the log, where a
terminal would obey it.  Line breaks are the toolkit's ``%0A``: they never end
the command.
"""

from __future__ import annotations

from mergeguard.model import Diagnostic, Report
from mergeguard.report.escaping import escape_char

_DATA_ESCAPES = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
_PROPERTY_ESCAPES = _DATA_ESCAPES + ((":", "%3A"), (",", "%2C"))


def _visible(text: str) -> str:
    """``text`` with unprintable characters other than line breaks escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\r\n" else escape_char(c) for c in text)


def escape_data(text: str) -> str:
    """``text`` safe as the message of a workflow command (after the last ``::``)."""
    text = _visible(text)
    for raw, escaped in _DATA_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def escape_property(text: str) -> str:
    """``text`` safe as a property value (``file=``, ``title=``) of a workflow command."""
    text = _visible(text)
    for raw, escaped in _PROPERTY_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def _properties(item: Diagnostic) -> list[tuple[str, str]]:
    """The annotation's ``key=value`` pairs: where (when known), then the title."""
    pairs: list[tuple[str, str]] = []
    if item.location is not None:
        location = item.location
        pairs += [
            ("file", str(location.path)),
            ("line", str(location.line)),
            ("col", str(location.column)),
        ]
    pairs.append(("title", f"{item.code} {item.name}"))
    return pairs


def message_text(item: Diagnostic) -> str:
    """The finding's text: the message, then the hint on its own line (SARIF uses it as is)."""
    return item.message if not item.hint else f"{item.message}\n{item.hint}"


def annotation(item: Diagnostic) -> str:
    """One workflow command line (no newline) for one finding."""
    properties = ",".join(f"{key}={escape_property(value)}" for key, value in _properties(item))
    return f"::{item.severity} {properties}::{escape_data(message_text(item))}"


def cannot_run(message: str, hint: str | None) -> str:
    """The workflow command (no newline) for a run that could not be made
    (exit 3): without it the job fails with no annotation on the pull request."""
    body = message if not hint else f"{message}\n{hint}"
    return f"::error title={escape_property('mergeguard could not run')}::{escape_data(body)}"


def render(report: Report) -> str:
    """Every finding as a workflow command, in the report's order, each ending
    in a newline; the empty string when there is nothing to report."""
    return "".join(annotation(item) + "\n" for item in report.diagnostics)
