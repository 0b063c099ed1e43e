"""Database URLs as the scratch databases take them: parsed, and masked for display.

sqlalchemy is imported inside functions only: importing this module is cheap.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mergeguard.errors import MergeguardError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

_PASSWORD_IN_AUTHORITY = re.compile(r"^(?P<head>[\w+.-]+://[^:/@?#]*):(?P<password>[^@]+)@")
_PASSWORD_IN_QUERY = re.compile(r"(?P<key>[?&]password=)[^&]*", re.IGNORECASE)


def mask(url: str) -> str:
    """``url`` with its password (user-info or ``?password=``) replaced by ``***``.

    Everything else is returned byte for byte, so the result can be shown anywhere.
    """
    masked = _PASSWORD_IN_AUTHORITY.sub(r"\g<head>:***@", url, count=1)
    return _PASSWORD_IN_QUERY.sub(r"\g<key>***", masked)


def parse(url: str) -> URL:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except ArgumentError:
        raise MergeguardError(
            f"not a database URL: {mask(url)}", hint="e.g. postgresql://user@host/postgres"
        ) from None
