"""The only package that runs project code: scratch databases and Alembic runs.

alembic and sqlalchemy are imported here and nowhere else in mergeguard, and
only lazily (inside functions), so that the rest of mergeguard starts fast.
"""
