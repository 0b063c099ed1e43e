"""Database URLs as both database rooms see them (the ground: pure, cheap).

The scratch databases (scratchdb/) and the deployed databases (databases/)
share these facts: which dialect family a URL's backend belongs to, which
drivers to try and what to install, and the secrets kept out of every text
mergeguard prints (URLs with their password masked, a driver's message with
the password taken out).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

MASK = "***"

# backend name -> the dialect family mergeguard handles it as
SERVER_DIALECTS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
DRIVER_HINTS = {
    "postgresql": "pip install 'psycopg[binary]' (or use a postgresql+DRIVER:// URL)",
    "mysql": "pip install pymysql (or use a mysql+DRIVER:// URL)",
}
# tried in this order when a URL names no driver and SQLAlchemy's default is missing
FALLBACK_DRIVERS = {"postgresql": ("psycopg", "psycopg2"), "mysql": ("pymysql", "mysqldb")}

_PASSWORD_IN_AUTHORITY = re.compile(r"^(?P<head>[\w+.-]+://[^:/@?#]*):(?P<password>[^@]+)@")
_PASSWORD_IN_QUERY = re.compile(r"(?P<key>[?&]password=)[^&]*", re.IGNORECASE)


def mask(url: str) -> str:
    """``url`` with its password (user-info or ``?password=``) replaced by ``***``.

    Everything else is returned byte for byte, so the result can be shown anywhere.
    """
    masked = _PASSWORD_IN_AUTHORITY.sub(rf"\g<head>:{MASK}@", url, count=1)
    return _PASSWORD_IN_QUERY.sub(rf"\g<key>{MASK}", masked)


def url_passwords(url: str) -> tuple[str, ...]:
    """The password(s) a URL holds (user-info and ``?password=``), as written and
    percent-decoded, longest first: what must never appear in a message about it."""
    found: list[str] = []
    authority = _PASSWORD_IN_AUTHORITY.match(url)
    if authority:
        found.append(authority.group("password"))
    for match in re.finditer(r"[?&]password=([^&#]*)", url, re.IGNORECASE):
        found.append(match.group(1))
    return _spellings(found)


def _spellings(passwords: Iterable[str]) -> tuple[str, ...]:
    """Each password as written, decoded and re-encoded, longest first (so a
    longer spelling is replaced before a shorter one it contains)."""
    spelled: set[str] = set()
    for password in passwords:
        if not password:
            continue
        decoded = urllib.parse.unquote(password)
        spelled.update({password, decoded, urllib.parse.quote(decoded, safe="")})
        spelled.update({urllib.parse.quote_plus(decoded)})
    return tuple(sorted((s for s in spelled if s), key=len, reverse=True))


def scrub(text: str, passwords: Iterable[str]) -> str:
    """``text`` on one line, every occurrence of ``passwords`` (in each spelling)
    replaced by ``***``, and any URL in it masked."""
    line = " ".join(text.split())
    for secret in _spellings(passwords):
        line = line.replace(secret, MASK)
    return _mask_urls_in(line)


_URL_IN_TEXT = re.compile(r"[\w+.-]+://[^\s'\"]+")


def _mask_urls_in(text: str) -> str:
    return _URL_IN_TEXT.sub(lambda match: mask(match.group(0)), text)
