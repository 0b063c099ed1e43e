"""Deployed databases, read only: the edge to the databases a project has
deployed (``[tool.mergeguard.databases]``, ``status --url``).

``targets`` resolves what to read (URLs, ``env:`` variables, the version
table each environment's env.py names); ``reading`` reads a version table in
a read-only transaction through SQLAlchemy (imported inside its functions:
importing this package costs nothing).  Beside ``scratchdb/``, never
importing it: shared URL facts live in ``mergeguard.dburls``.
"""
