"""Literal SQL of ``op.execute`` read into Operations: every mapping, several
spellings of each, data statements giving nothing, the rest opaque, no raise."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mergeguard.model import Operation, Span
from mergeguard.parse.sqlops import sql_operations

SPAN = Span(12, 5)


def op(
    kind: str,
    table: str | None,
    name: str | None,
    schema: str | None = None,
    columns: tuple[str, ...] = (),
    **detail: str,
) -> Operation:
    return Operation(
        kind,
        table,
        name,
        schema,
        SPAN,
        columns=columns,
        detail=tuple(sorted(detail.items())),
    )


def fk(table: str, name: str | None, columns: tuple[str, ...], **detail: str) -> Operation:
    return op("create_foreign_key", table, name, detail.pop("schema", None), columns, **detail)


CREATE_TABLE = [
    (
        "CREATE TABLE t (a INT NOT NULL, b TEXT)",
        [op("create_table", "t", "t", None, ("a", "b"))],
    ),
    (
        "create table if not exists s.t (a int, b text)",
        [op("create_table", "t", "t", "s", ("a", "b"), if_not_exists="True")],
    ),
    (
        'CREATE TABLE "My Schema"."Users" ("Id" INT, "e""x" TEXT)',
        [op("create_table", "Users", "Users", "My Schema", ("Id", 'e"x'))],
    ),
    (
        "CREATE TABLE IF NOT EXISTS `s`.`t` (`a` INT NOT NULL AUTO_INCREMENT, PRIMARY KEY (`a`))"
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        [op("create_table", "t", "t", "s", ("a",), if_not_exists="True")],
    ),
    (
        "CREATE TABLE s.t (a INT NOT NULL, b TEXT, CONSTRAINT uq_x UNIQUE (b),"
        " FOREIGN KEY (a) REFERENCES other(id), CONSTRAINT fk_y FOREIGN KEY (a, b)"
        " REFERENCES s2.o2 (id, k) ON DELETE CASCADE, CONSTRAINT ck CHECK (a > 0),"
        " CONSTRAINT pk PRIMARY KEY (a, b), UNIQUE (a), CHECK (a < 9))",
        [
            op("create_table", "t", "t", "s", ("a", "b")),
            op("create_unique_constraint", "t", "uq_x", "s", ("b",)),
            fk("t", None, ("a",), schema="s", referent="other"),
            fk("t", "fk_y", ("a", "b"), schema="s", referent="o2", referent_schema="s2"),
            op("create_check_constraint", "t", "ck", "s"),
            op("create_primary_key", "t", "pk", "s", ("a", "b")),
        ],
    ),
    (
        "CREATE TABLE t (id SERIAL PRIMARY KEY, a INT REFERENCES o (id),"
        " b INT CONSTRAINT fk_b REFERENCES p, c INT CONSTRAINT uq_c UNIQUE,"
        " d INT CONSTRAINT ck_d CHECK (d > 0), e INT CONSTRAINT pk_e PRIMARY KEY, f INT UNIQUE)",
        [
            op("create_table", "t", "t", None, ("id", "a", "b", "c", "d", "e", "f")),
            fk("t", None, ("a",), referent="o"),
            fk("t", "fk_b", ("b",), referent="p"),
            op("create_unique_constraint", "t", "uq_c", None, ("c",)),
            op("create_check_constraint", "t", "ck_d", None),
            op("create_primary_key", "t", "pk_e", None, ("e",)),
        ],
    ),
    (
        "CREATE TABLE `t` (`a` INT, UNIQUE KEY `uq_a` (`a`), KEY `ix_a` (`a`),"
        " CONSTRAINT `fk_a` FOREIGN KEY (`a`) REFERENCES `o` (`id`))",
        [
            op("create_table", "t", "t", None, ("a",)),
            op("create_unique_constraint", "t", "uq_a", None, ("a",)),
            op("create_index", "t", "ix_a", None, ("a",)),
            fk("t", "fk_a", ("a",), referent="o"),
        ],
    ),
]

ALTER_TABLE = [
    (
        "ALTER TABLE t ADD COLUMN c VARCHAR(20)",
        [op("add_column", "t", "c", type="VARCHAR(20)")],
    ),
    (
        "alter table s.t add c numeric(10, 2) not null",
        [op("add_column", "t", "c", "s", type="DECIMAL(10, 2)", nullable="False")],
    ),
    (
        'ALTER TABLE "T" ADD COLUMN "C" INT NULL, ADD COLUMN d TEXT',
        [
            op("add_column", "T", "C", type="INT", nullable="True"),
            op("add_column", "T", "d", type="TEXT"),
        ],
    ),
    (
        "ALTER TABLE `t` ADD `c` INT, ADD COLUMN `d` TEXT",
        [op("add_column", "t", "c", type="INT"), op("add_column", "t", "d", type="TEXT")],
    ),
    (
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT REFERENCES o (id)",
        [
            op("add_column", "t", "c", type="INT", if_not_exists="True"),
            fk("t", None, ("c",), referent="o"),
        ],
    ),
    ("ALTER TABLE t DROP COLUMN c", [op("drop_column", "t", "c")]),
    ("ALTER TABLE t DROP c", [op("drop_column", "t", "c")]),
    (
        "ALTER TABLE s.t DROP COLUMN IF EXISTS c, DROP COLUMN d",
        [op("drop_column", "t", "c", "s"), op("drop_column", "t", "d", "s")],
    ),
    (
        "ALTER TABLE t ADD COLUMN c INT, DROP COLUMN d",
        [op("add_column", "t", "c", type="INT"), op("drop_column", "t", "d")],
    ),
    (
        "ALTER TABLE t RENAME COLUMN a TO b",
        [op("alter_column", "t", "a", new_column_name="b")],
    ),
    (
        "Alter Table `t` Rename Column `a` To `b`",
        [op("alter_column", "t", "a", new_column_name="b")],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c TYPE BIGINT",
        [op("alter_column", "t", "c", type="BIGINT")],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c TYPE VARCHAR(10) USING c::varchar",
        [op("alter_column", "t", "c", type="VARCHAR(10)")],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c SET DATA TYPE TEXT",
        [op("alter_column", "t", "c", type="TEXT")],
    ),
    ("ALTER TABLE t ALTER c SET NOT NULL", [op("alter_column", "t", "c", nullable="False")]),
    (
        'ALTER TABLE "s"."t" ALTER COLUMN "c" DROP NOT NULL',
        [op("alter_column", "t", "c", "s", nullable="True")],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c SET DEFAULT 'x'",
        [op("alter_column", "t", "c", server_default="'x'")],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c SET DEFAULT now()",
        [op("alter_column", "t", "c", server_default="NOW()")],
    ),
    (
        'ALTER TABLE t ALTER COLUMN c TYPE TEXT COLLATE "C", ALTER COLUMN c SET NOT NULL',
        [
            op("alter_column", "t", "c", type="TEXT"),
            op("alter_column", "t", "c", nullable="False"),
        ],
    ),
    (
        "ALTER TABLE t ALTER COLUMN c DROP DEFAULT",
        [op("alter_column", "t", "c", server_default="None")],
    ),
    ("ALTER TABLE t RENAME TO u", [op("rename_table", "t", "u")]),
    ("ALTER TABLE s.t RENAME TO u", [op("rename_table", "t", "u", "s")]),
    ("alter table `t` rename to `u`", [op("rename_table", "t", "u")]),
    (
        "ALTER TABLE t ADD CONSTRAINT n UNIQUE (a, b)",
        [op("create_unique_constraint", "t", "n", None, ("a", "b"))],
    ),
    (
        "ALTER TABLE t ADD CONSTRAINT n FOREIGN KEY (a) REFERENCES r (id)",
        [fk("t", "n", ("a",), referent="r")],
    ),
    (
        'ALTER TABLE "t" ADD CONSTRAINT "n" FOREIGN KEY ("a") REFERENCES "s"."r" ("id")'
        " ON DELETE CASCADE NOT VALID",
        [fk("t", "n", ("a",), referent="r", referent_schema="s")],
    ),
    (
        "ALTER TABLE t ADD CONSTRAINT n CHECK (a > 0)",
        [op("create_check_constraint", "t", "n")],
    ),
    (
        "ALTER TABLE t ADD CONSTRAINT n PRIMARY KEY (a, b)",
        [op("create_primary_key", "t", "n", None, ("a", "b"))],
    ),
    (
        "ALTER TABLE t ADD UNIQUE (a), ADD FOREIGN KEY (b) REFERENCES r (id)",
        [
            op("create_unique_constraint", "t", None, None, ("a",)),
            fk("t", None, ("b",), referent="r"),
        ],
    ),
    ("ALTER TABLE t DROP CONSTRAINT n", [op("drop_constraint", "t", "n")]),
    ("ALTER TABLE s.t DROP CONSTRAINT IF EXISTS n", [op("drop_constraint", "t", "n", "s")]),
]

MYSQL_ALTER = [
    (
        "ALTER TABLE `t` MODIFY COLUMN `c` BIGINT NOT NULL",
        [op("alter_column", "t", "c", type="BIGINT", nullable="False")],
    ),
    (
        "ALTER TABLE `t` CHANGE `a` `b` TEXT",
        [op("alter_column", "t", "a", new_column_name="b", type="TEXT")],
    ),
    (
        "ALTER TABLE `t` DROP FOREIGN KEY `fk`",
        [op("drop_constraint", "t", "fk", type="foreignkey")],
    ),
    ("ALTER TABLE `t` DROP PRIMARY KEY", [op("drop_constraint", "t", None, type="primary")]),
    ("ALTER TABLE `t` DROP INDEX `ix`", [op("drop_index", "t", "ix")]),
    (
        "ALTER TABLE `t` ADD INDEX `ix` (`a`, `b`)",
        [op("create_index", "t", "ix", None, ("a", "b"))],
    ),
]

INDEXES_AND_TABLES = [
    ("CREATE INDEX ix ON t (a)", [op("create_index", "t", "ix", None, ("a",))]),
    (
        "CREATE UNIQUE INDEX IF NOT EXISTS n ON s.t (a, b)",
        [op("create_index", "t", "n", "s", ("a", "b"), unique="True", if_not_exists="True")],
    ),
    (
        'create unique index "IX" on "S"."T" ("A" DESC)',
        [op("create_index", "T", "IX", "S", ("A",), unique="True")],
    ),
    (
        "CREATE INDEX CONCURRENTLY ix ON t USING btree (lower(email)) WHERE active",
        [op("create_index", "t", "ix", None, ("LOWER(email)",))],
    ),
    ("CREATE INDEX `ix` ON `t` (`a`)", [op("create_index", "t", "ix", None, ("a",))]),
    ("DROP INDEX ix", [op("drop_index", None, "ix")]),
    ("DROP INDEX IF EXISTS s.ix", [op("drop_index", None, "ix", "s")]),
    ("DROP INDEX `ix` ON `t`", [op("drop_index", "t", "ix")]),
    ("DROP TABLE t", [op("drop_table", "t", "t")]),
    ('drop table if exists "s"."t" cascade', [op("drop_table", "t", "t", "s")]),
    ("DROP TABLE a, b", [op("drop_table", "a", "a"), op("drop_table", "b", "b")]),
]

ENUMS_AND_COMMENTS = [
    ("CREATE TYPE mood AS ENUM ('a', 'b')", [op("create_enum", None, "mood")]),
    ("CREATE TYPE s.mood AS ENUM ('a', 'b')", [op("create_enum", None, "mood", "s")]),
    ('create type "Mood" as enum ()', [op("create_enum", None, "Mood")]),
    ("DROP TYPE mood", [op("drop_enum", None, "mood")]),
    ("DROP TYPE IF EXISTS s.mood CASCADE", [op("drop_enum", None, "mood", "s")]),
    ("COMMENT ON TABLE t IS 'people'", [op("create_table_comment", "t", "t")]),
    ('COMMENT ON TABLE "s"."t" IS \'x\'', [op("create_table_comment", "t", "t", "s")]),
    ("COMMENT ON COLUMN t.c IS 'y'", [op("alter_column", "t", "c", comment="y")]),
]

MULTIPLE = [
    (
        "CREATE TYPE mood AS ENUM ('a');\nCREATE TABLE t (id INT, m mood);\n"
        "CREATE INDEX ix_t_m ON t (m);\nINSERT INTO t VALUES (1, 'a');",
        [
            op("create_enum", None, "mood"),
            op("create_table", "t", "t", None, ("id", "m")),
            op("create_index", "t", "ix_t_m", None, ("m",)),
        ],
    ),
    (
        "ALTER TABLE t DROP c; DROP TABLE u;",
        [op("drop_column", "t", "c"), op("drop_table", "u", "u")],
    ),
    (
        "SET lock_timeout = '5s'; ALTER TABLE `t` ADD `c` INT",
        [op("add_column", "t", "c", type="INT")],
    ),
]

CASES = CREATE_TABLE + ALTER_TABLE + MYSQL_ALTER + INDEXES_AND_TABLES + ENUMS_AND_COMMENTS
CASES += MULTIPLE


@pytest.mark.parametrize(("sql", "expected"), CASES, ids=[c[0][:50] for c in CASES])
def test_schema_statements(sql: str, expected: list[Operation]) -> None:
    assert sql_operations(sql, SPAN) == tuple(expected)


def test_span_and_function_on_every_operation() -> None:
    sql = "CREATE TABLE t (a INT REFERENCES o (id)); DROP INDEX ix"
    operations = sql_operations(sql, Span(3, 9), "downgrade")
    assert len(operations) == 3
    assert {(o.span, o.function) for o in operations} == {(Span(3, 9), "downgrade")}


def test_detail_sorted_and_columns_strings() -> None:
    sql = "ALTER TABLE t ALTER COLUMN c TYPE INT, ALTER COLUMN c SET NOT NULL; ALTER TABLE t"
    sql += " ADD COLUMN d INT NOT NULL; CREATE TABLE u (x INT, y INT, CONSTRAINT p PRIMARY KEY (x))"
    for operation in sql_operations(sql, SPAN):
        assert list(operation.detail) == sorted(operation.detail)
        assert all(isinstance(c, str) for c in operation.columns)


NOT_SCHEMA = [
    "INSERT INTO t (a) VALUES (1)",
    "insert into `t` values (1) on duplicate key update a = 1",
    "UPDATE t SET a = 1 WHERE b = 2",
    "DELETE FROM t WHERE a IS NULL",
    "SELECT 1",
    "select a from t union select b from u",
    "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
    "SET search_path TO public",
    "SET LOCAL lock_timeout = '5s'",
    "SET CONSTRAINTS ALL DEFERRED",
    "BEGIN",
    "START TRANSACTION",
    "COMMIT",
    "ROLLBACK",
    "BEGIN; UPDATE t SET a = 1; COMMIT;",
    "",
    "  ;  ",
    "-- nothing but a comment",
]


@pytest.mark.parametrize("sql", NOT_SCHEMA)
def test_data_and_session_statements_give_nothing(sql: str) -> None:
    assert sql_operations(sql, SPAN) == ()


def opaque(sql_start: str, function: str = "upgrade") -> Operation:
    return Operation(
        "opaque",
        None,
        None,
        None,
        SPAN,
        True,
        reason=f"SQL mergeguard cannot read: {sql_start}",
        function=function,
    )


UNREADABLE = [
    "garbage stuff here",
    "CREATE VIEW v AS SELECT 1",
    "CREATE TABLE t AS SELECT 1",
    "CREATE TYPE pair AS (a INT, b INT)",
    "CREATE TABLE t (a INT, EXCLUDE USING gist (a WITH =))",
    "ALTER TABLE t ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE t ALTER COLUMN c SET STATISTICS 100",
    "DO $$ BEGIN PERFORM 1; END $$",
    "CREATE EXTENSION IF NOT EXISTS pgcrypto",
    "GRANT SELECT ON t TO reader",
    "ALTER INDEX i RENAME TO j",
    "DROP VIEW v",
    "CREATE INDEX ix ON t (a); garbage",
    "ALTER TABLE t ADD COLUMN c INT; CREATE VIEW v AS SELECT 1",
]


@pytest.mark.parametrize("sql", UNREADABLE)
def test_unreadable_sql_is_one_opaque_operation(sql: str) -> None:
    assert sql_operations(sql, SPAN, "downgrade") == (opaque(sql, "downgrade"),)


def test_opaque_reason_is_the_first_sixty_characters_on_one_line() -> None:
    sql = "\n    CREATE VIEW everything AS\n        SELECT a, b, c, d, e, f, g"
    sql += " FROM t JOIN u USING (id)"
    (operation,) = sql_operations(sql, SPAN)
    start = "CREATE VIEW everything AS SELECT a, b, c, d, e, f, g FROM t "
    assert len(start) == 60
    assert operation == opaque(start)


def test_sqlglot_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="sqlglot"):
        sql_operations("ALTER TABLE t DROP c; CREATE TYPE m AS ENUM ('a')", SPAN)
        sql_operations("ALTER TABLE t ENABLE ROW LEVEL SECURITY", SPAN)
    assert [r for r in caplog.records if r.name.startswith("sqlglot")] == []
    assert logging.getLogger("sqlglot").filters == []


def test_sqlglot_is_imported_only_when_used() -> None:
    code = "import sys, mergeguard.parse.sqlops; print('sqlglot' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def check_result(operations: tuple[Operation, ...]) -> None:
    """() , all readable operations, or exactly one opaque one."""
    if any(o.opaque for o in operations):
        assert len(operations) == 1 and operations[0].kind == "opaque"
    for operation in operations:
        assert operation.span == SPAN
        assert list(operation.detail) == sorted(operation.detail)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_no_text_raises(sql: str) -> None:
    check_result(sql_operations(sql, SPAN))


FRAGMENTS = [
    "CREATE ", "TABLE ", "INDEX ", "UNIQUE ", "TYPE ", "ALTER ", "DROP ", "ADD ", "COLUMN ",
    "CONSTRAINT ", "FOREIGN KEY ", "PRIMARY KEY ", "REFERENCES ", "CHECK ", "RENAME ", "TO ",
    "ON ", "AS ENUM ", "IF NOT EXISTS ", "SET ", "NOT NULL ", "DEFAULT ", "COMMENT ", "IS ",
    "t ", "s.t ", '"q" ', "`b` ", "c ", "INT ", "(", ")", ", ", "; ", "'x' ", "$$ ", "--",
]  # fmt: skip


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14))
@settings(max_examples=300, deadline=None)
def test_no_arrangement_of_sql_fragments_raises(parts: list[str]) -> None:
    check_result(sql_operations("".join(parts), SPAN))
