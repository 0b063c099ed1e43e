"""What makes two independent merges of the same heads the same file.

Alembic gives a merge revision a random id and the clock's date, so two
people who merge the same heads on their own branches write two files (two
merge revisions of the same heads once git has merged both branches).
Without ``--rev-id``, ``fix --merge`` derives both from the heads instead:

- the id: the first 12 hex digits of SHA-256 over ``MERGE_ID_PREFIX``
  followed by the sorted head ids, one per line (each line ending in
  ``\\n``); 12 hex digits, like Alembic's own ids;
- the Create Date: the latest ``Create Date:`` among the heads' own
  docstrings (as Alembic's template writes it), compared as instants (a date
  without a zone counts as UTC, so the choice does not depend on the
  machine), rendered without a zone when the environment sets no
  ``timezone`` and in that zone when it does.  When no head has a readable
  Create Date the clock is used, as Alembic does (the id and the name stay
  the same unless ``file_template`` uses the date).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from mergeguard.fix.merge_file import find_zone

MERGE_ID_PREFIX = "mergeguard merge revision v1\n"
_HEADER_BYTES = 65536  # the docstring is at the top; a huge file is not read through
_CREATE_DATE = re.compile(rb"^Create Date: *(\S[^\r\n]*?) *\r?$", re.MULTILINE)


def merge_rev_id(heads: Iterable[str]) -> str:
    """The revision id of the merge of ``heads``, the same for any order."""
    text = MERGE_ID_PREFIX + "".join(f"{head}\n" for head in sorted(set(heads)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def written_create_date(data: bytes) -> datetime | None:
    """The ``Create Date:`` a migration file's docstring gives, None when it
    has none that ``datetime.fromisoformat`` reads (Alembic writes ``str(datetime)``)."""
    found = _CREATE_DATE.search(data[:_HEADER_BYTES])
    if found is None:
        return None
    try:
        return datetime.fromisoformat(found.group(1).decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


def _instant(date: datetime) -> datetime:
    """An aware datetime to compare by: a date without a zone counts as UTC."""
    return date.astimezone(timezone.utc) if date.tzinfo else date.replace(tzinfo=timezone.utc)


def merge_create_date(dates: Sequence[datetime], tz_name: str | None) -> datetime | None:
    """The merge revision's Create Date from its heads' dates (see the module).

    None when there are no dates.  Raises MergeFileError for an unknown
    ``timezone`` (as Alembic's own date would).
    """
    if not dates:
        return None
    # the same instant written in two zones: the text decides, not the heads' order
    latest = max(dates, key=lambda date: (_instant(date), date.isoformat()))
    if tz_name is None:
        return latest.replace(tzinfo=None)
    zone = find_zone(tz_name)
    return latest.astimezone(zone) if latest.tzinfo else latest.replace(tzinfo=zone)
