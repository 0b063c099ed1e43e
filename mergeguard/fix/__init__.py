"""Repairs of migration histories: new merge revisions and ``down_revision`` rewrites.

Each fix returns ``FilePatch`` values and writes nothing itself; the caller
shows them (``--dry-run``) or writes them atomically.
"""
