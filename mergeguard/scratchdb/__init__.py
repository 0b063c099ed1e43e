"""Scratch databases and the Alembic runs on them (``mergeguard apply``).

Two sides, one protocol (``protocol/``: the plan, results and progress entries):

- the parent (``apply``, ``paths``, ``judge``, ``crash``, and the
  server administration in ``database``, ``servers``, ``logins``,
  ``sqlite_file``, ``urls``, ``lifetime``) never imports project code nor
  alembic; sqlalchemy only in the administration modules, inside functions,
  so that the rest of mergeguard starts fast;
- the worker (``worker/``, run as ``python -m mergeguard.scratchdb.worker``)
  is the only code that imports a project's migrations and env.py.

``tests/test_scratchdb_boundaries.py`` holds these lines.
"""
