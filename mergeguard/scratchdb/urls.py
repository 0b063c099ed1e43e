"""Database URLs as the scratch databases take them: parsed, and masked for display.

sqlalchemy is imported inside functions only: importing this module is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mergeguard.dburls import mask
from mergeguard.errors import MergeguardError
from mergeguard.scratchdb.protocol import DATABASE_PARAMETERS

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["mask", "parse"]


def parse(url: str) -> URL:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise MergeguardError(
            f"not a database URL: {mask(url)}", hint="e.g. postgresql://user@host/postgres"
        ) from None
    _refuse_database_parameters(parsed, url)
    return parsed


def _refuse_database_parameters(parsed: URL, url: str) -> None:
    """A ``?dbname=`` (and the like) would send the migrations to the database it
    names rather than the scratch one mergeguard creates: refuse it."""
    for key in parsed.query:
        if key.lower() in DATABASE_PARAMETERS:
            raise MergeguardError(
                f"--url {mask(url)} names a database with its query parameter ?{key}=; "
                "mergeguard creates and names the scratch database itself",
                hint=f"remove ?{key}= from --url (the path names the administration "
                "database, e.g. postgresql://user@host/postgres)",
            )
