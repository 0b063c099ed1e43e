"""Paths of listed keys: built without pathlib's parse where that is safe, equal either way."""

from __future__ import annotations

import sys
from pathlib import PurePosixPath

from mergeguard.graph import listings

KEYS = [
    "a",
    "env.py",
    "migrations/versions/0001_add_users.py",
    "services/billing/migrations/versions/x/y.py",
    "/absolute/x.py",
    "a//b.py",
    "./a/b.py",
    "a/./b.py",
    "a/b/",
    "x/../y.py",
    "a\\b.py",
    "é/ü.py",
    "with space/and\ttab.py",
]


def test_a_listed_path_is_the_path_pathlib_parses() -> None:
    for key in KEYS:
        built, parsed = listings.path_of(key), PurePosixPath(key)
        assert type(built) is PurePosixPath
        assert built == parsed and hash(built) == hash(parsed)
        assert str(built) == str(parsed) and built.parts == parsed.parts
        assert (built.name, built.suffix, built.stem) == (parsed.name, parsed.suffix, parsed.stem)
        assert built.parent == parsed.parent and built.is_absolute() == parsed.is_absolute()
        assert built / "z.py" == parsed / "z.py"
        assert built.relative_to(*parsed.parts[:1]) == parsed.relative_to(*parsed.parts[:1])


def test_the_short_cut_is_taken_only_where_pathlib_has_its_form() -> None:
    maker = listings._parsed_parts_maker()
    if sys.version_info >= (3, 12):
        assert maker is None  # 3.12's constructor is lazy, and its private API differs
    else:
        assert maker is not None and maker("a/b.py") == PurePosixPath("a/b.py")
