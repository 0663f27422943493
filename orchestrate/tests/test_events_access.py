"""The events table as a role without every right sees it, on real PostgreSQL: each missing right
is named with the GRANT that mends it (information_schema would hide the table's columns and
report a missing column instead), and every kind of relation a role can read is read: a table
through column grants, a view, a materialised view (absent from information_schema), a foreign
table. Each build selects the staging view and the counts, which read the events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg2
import pytest

from orchestrate.tests.conftest import Database, InProcessDbt, Project, _project

READS_EVENTS = ("--select", "stg_flows__events+1", "--indirect-selection", "cautious")


@dataclass(frozen=True)
class Reader:
    """A role that owns its target schema and holds no right on the events schema yet."""

    name: str
    events_schema: str
    project: Project

    def grant(self, sql: str) -> None:
        self.project.db.execute(sql.format(role=f'"{self.name}"', events=f'"{self.events_schema}"'))

    def build(self, events_table: str) -> tuple[int, str]:
        vars = {"events_schema": self.events_schema, "events_table": events_table}
        result = self.project.try_build(vars, READS_EVENTS)
        return result.returncode, result.stdout


def create_file_fdw(db: Database) -> None:
    """file_fdw, created once per database; test sessions side by side may race to create it."""
    try:
        db.execute("create extension if not exists file_fdw")
    except psycopg2.errors.UniqueViolation:
        pass


@pytest.fixture(scope="module")
def reader(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt
) -> Iterator[Reader]:
    name = f"nfpca_test_{session_id}_reader"
    tmp = tmp_path_factory.mktemp("events_access")
    for events in _project(db, server_env, f"nfpca_test_{session_id}_access", tmp / "events", invoke_dbt):
        events.load_sample_events()
        create_file_fdw(db)
        schema = f'"{events.schema}"'
        db.execute(f"""
            alter table {schema}.events add column secret text;
            create view {schema}.events_view as select user_name, start_time from {schema}.events;
            create materialized view {schema}.events_matview as select user_name, start_time from {schema}.events;
            create sequence {schema}.events_sequence;
            create server "{name}" foreign data wrapper file_fdw;
            create foreign table {schema}.events_foreign (user_name text, start_time bigint) server "{name}"
                options (program 'printf "a,1484222400\\nb,1484226000\\n"', format 'csv');
            create role "{name}" login nosuperuser nocreatedb nocreaterole;
            create schema "{name}" authorization "{name}";
        """)
        try:
            for project in _project(db, server_env, name, tmp / "reader", invoke_dbt):
                project.env.update({"PGUSER": name, "NETFLOW_PCA_SCHEMA": name})
                yield Reader(name, events.schema, project)
        finally:
            db.execute(f'drop server if exists "{name}" cascade; drop owned by "{name}"; drop role if exists "{name}"')


def test_each_missing_right_is_named_with_the_grant_that_mends_it(reader: Reader) -> None:
    events = f'"{reader.events_schema}"."events"'
    grant_target = f'"{reader.name}"'
    reader.grant("revoke usage on schema {events} from {role}; revoke select on {events}.events from {role}")

    code, output = reader.build("events")
    assert code != 0
    assert f'The role {reader.name} has no USAGE on schema {reader.events_schema}, which holds the events table' in output
    assert f'grant usage on schema "{reader.events_schema}" to {grant_target}' in output

    reader.grant("grant usage on schema {events} to {role}")
    code, output = reader.build("events")
    assert code != 0
    assert f"The role {reader.name} has no SELECT on the events table" in output
    assert f"grant select on {events} to {grant_target}" in output

    reader.grant("grant select (user_name, secret) on {events}.events to {role}")
    code, output = reader.build("events")
    assert code != 0
    assert "may not read column start_time of the events table" in output
    assert "(its column grants cover only user_name, secret)" in output
    assert f'grant select ("start_time") on {events} to {grant_target}' in output

    # the column the run does not read stays out of reach, and the run needs no more
    reader.grant("revoke select (secret) on {events}.events from {role}; grant select (start_time) on {events}.events to {role}")
    code, output = reader.build("events")
    assert code == 0, output[-3000:]
    assert reader.project.db.rows(f'select count(*) from "{reader.name}".int_hourly_counts')[0][0] > 0


@pytest.mark.parametrize("relation", ["events_view", "events_matview", "events_foreign"])
def test_a_view_a_materialised_view_or_a_foreign_table_is_read_like_a_table(reader: Reader, relation: str) -> None:
    reader.grant("grant usage on schema {events} to {role}")
    code, output = reader.build(relation)
    assert code != 0
    assert f"The role {reader.name} has no SELECT on the events table" in output

    reader.grant(f"grant select on {{events}}.{relation} to {{role}}")
    code, output = reader.build(relation)

    assert code == 0, output[-3000:]
    counted = reader.project.db.rows(f'select sum(flow_count) from "{reader.name}".int_hourly_counts')[0][0]
    expected = reader.project.db.rows(f'select count(*) from "{reader.events_schema}"."{relation}"')[0][0]
    assert counted == expected


def test_a_relation_that_holds_no_rows_is_named_by_its_kind(reader: Reader) -> None:
    reader.grant("grant usage on schema {events} to {role}")
    code, output = reader.build("events_sequence")
    assert code != 0
    assert "is a sequence, not a table, a view, a materialised view or a foreign table: check the var events_table" in output
