"""The least-privilege login the worker uses on a server (issue 10 item 9).

PostgreSQL: a role ``mergeguard_<hex>`` (LOGIN, no superuser, no CREATEDB nor
CREATEROLE) that owns the scratch database of the same name, so it may create
in that database and nowhere else it is not already let in by the server's own
grants (on PostgreSQL 15+ not even the public schema of other databases).
MySQL/MariaDB: a user ``mergeguard_<hex>`` granted ``ALL`` on the scratch
schema only, so ``INSERT INTO otherdb.t`` on the scratch connection is denied.

Names and passwords come from ``secrets.token_hex``: plain identifiers and
literals, still quoted by the dialect's own preparer.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from mergeguard.model import frozen

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_HEX = re.compile(r"[0-9a-f]+")


def quote(conn: Connection, name: str) -> str:
    """``name`` as a quoted identifier of ``conn``'s dialect."""
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _literal(value: str) -> str:
    if not _HEX.fullmatch(value):  # made by token_hex: never anything else
        raise ValueError("a login password must be hexadecimal")
    return f"'{value}'"


@frozen
class Login:
    name: str
    password: str
    dialect: str
    host: str = ""  # MySQL's host part of the account

    @classmethod
    def make(cls, conn: Connection, dialect: str, name: str) -> Login:
        """Create the login ``name`` on the server ``conn`` administers."""
        password = secrets.token_hex(16)
        if dialect == "postgresql":
            conn.exec_driver_sql(
                f"CREATE ROLE {quote(conn, name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
                f" NOREPLICATION PASSWORD {_literal(password)}"
            )
            return cls(name, password, dialect)
        # The host part the admin account matched from here: a login with the same
        # host pattern is matched the same way, and sorts before an anonymous
        # user of that host (which would shadow a '%' account).
        current = str(conn.exec_driver_sql("SELECT CURRENT_USER()").scalar_one())
        login = cls(name, password, dialect, current.rpartition("@")[2])
        conn.exec_driver_sql(
            f"CREATE USER {login.account(conn)} IDENTIFIED BY {_literal(password)}"
        )
        try:
            conn.exec_driver_sql(
                f"GRANT ALL PRIVILEGES ON {quote(conn, name)}.* TO {login.account(conn)}"
            )
        except BaseException:
            login.drop(conn)
            raise
        return login

    def account(self, conn: Connection) -> str:
        """MySQL's ``'user'@'host'``."""
        host = self.host.replace("\\", "\\\\").replace("'", "''")
        return f"'{self.name}'@'{host}'"

    def drop(self, conn: Connection) -> None:
        """Remove the login (after its database: a PostgreSQL owner must go first)."""
        if self.dialect != "postgresql":
            conn.exec_driver_sql(f"DROP USER IF EXISTS {self.account(conn)}")
            return
        found = conn.exec_driver_sql(
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %(name)s", {"name": self.name}
        ).first()
        if found is not None:
            conn.exec_driver_sql(f"DROP OWNED BY {quote(conn, self.name)}")  # grants left here
            conn.exec_driver_sql(f"DROP ROLE {quote(conn, self.name)}")
