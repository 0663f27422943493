"""Hostile and malformed vars stop dbt with a message naming the var, and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orchestrate.run.options import LOOKBACK_DAYS_LIMIT
from orchestrate.tests.conftest import Database, InProcessDbt, Project, _project


@pytest.fixture(scope="module")
def guarded(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt
) -> Iterator[Project]:
    """A built project beside a table `x` that an injection would try to drop."""
    schema = f"nfpca_test_{session_id}_guarded"
    for project in _project(db, server_env, schema, tmp_path_factory.mktemp("guarded"), invoke_dbt):
        project.build()
        project.db.execute(f'create table "{project.schema}".x as select 1 as kept')
        yield project


def schema_fingerprint(db: Database, schema: str) -> dict[str, str]:
    """Every relation of the schema: a view by its definition, a table by a digest of its rows
    with their physical places and writing transactions, so that even a rewrite shows."""
    fingerprint = dict(db.rows("select viewname, definition from pg_views where schemaname = %s", (schema,)))
    for (table,) in db.rows("select tablename from pg_tables where schemaname = %s", (schema,)):
        [(digest,)] = db.rows(
            f"""select md5(coalesce(string_agg(ctid::text || xmin::text || t::text, ',' order by t::text), ''))
                from "{schema}"."{table}" t"""
        )
        fingerprint[table] = digest
    return fingerprint


HOSTILE_VARS: list[tuple[str, Any]] = [
    ("hour_id", "1; drop table x"),
    ("hour_id", 24),
    ("hour_id", -1),
    ("hour_id", 12.5),
    ("hour_id", True),
    ("run_date", "2017-01-14'; drop table x; --"),
    ("run_date", "2017-02-30"),
    ("run_date", "yesterday"),
    ("lookback_days", 0),
    ("lookback_days", "7; drop table x"),
    ("user_column", 'user_name"; --'),
    ("user_column", "user_name) from pg_authid; --"),
    ("time_column", "start_time'"),
    ("events_schema", 'public"; drop table x; --'),
    ("events_table", "x\x00"),
    ("timezone", "UTC'; drop table x; --"),
    ("timezone", "Mars/Olympus_Mons"),
    ("variance_target", "0.99; drop table x"),
    ("variance_target", 1.5),
    ("variance_target", 0),
    ("loading_threshold", -1),
    ("loading_threshold", "abc"),
    ("pca_backend", "madlib; drop table x"),
    ("pca_functions_schema", 'public"; drop table x; --'),
    ("madlib_schema", "madlib'; drop table x; --"),
]


@pytest.mark.parametrize(("name", "value"), HOSTILE_VARS, ids=[f"{n}={v!r}" for n, v in HOSTILE_VARS])
def test_bad_var_stops_the_run_naming_it_and_writes_nothing(guarded: Project, name: str, value: Any) -> None:
    before = schema_fingerprint(guarded.db, guarded.schema)

    result = guarded.try_build({name: value})

    assert result.returncode != 0
    assert f"var {name}" in result.stdout
    assert schema_fingerprint(guarded.db, guarded.schema) == before
    assert guarded.db.relation_exists(guarded.schema, "x")


def test_the_command_line_refuses_the_lookback_days_that_dbt_refuses(guarded: Project) -> None:
    result = guarded.dbt("parse", vars={"lookback_days": LOOKBACK_DAYS_LIMIT + 1})
    assert result.returncode != 0
    assert f"Invalid var lookback_days: expected an integer from 1 to {LOOKBACK_DAYS_LIMIT}," in result.stdout


def test_absent_columns_and_tables_are_named(guarded: Project) -> None:
    result = guarded.try_build({"user_column": "src_ip"})
    assert result.returncode != 0
    assert "Invalid var user_column: 'src_ip' is not a column of" in result.stdout
    assert "its columns are user_name, start_time" in result.stdout

    result = guarded.try_build({"events_table": "no_such_table"})
    assert result.returncode != 0
    assert "does not exist: check the vars events_schema" in result.stdout

    result = guarded.try_build({"time_column": "user_name"})
    assert result.returncode != 0
    assert "Invalid var time_column: column 'user_name' has type text" in result.stdout
