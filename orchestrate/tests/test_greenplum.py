"""Greenplum's DISTRIBUTED BY clause is added exactly where the server says it is Greenplum."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrate.run.options import dbt_command
from orchestrate.tests.conftest import Project

GREENPLUM_VERSION = "PostgreSQL 12.12 (Greenplum Database 7.1.0 build commit:0) on x86_64-unknown-linux-gnu"


@pytest.fixture
def greenplum_lookalike(project: Project) -> Iterator[str]:
    """A schema whose version() answers like Greenplum; search_path puts it before pg_catalog."""
    schema = f"{project.schema}_gp"
    project.db.execute(f'create schema "{schema}"')
    project.db.execute(
        f"""create function "{schema}".version() returns text language sql as $$ select '{GREENPLUM_VERSION}' $$"""
    )
    try:
        yield f"-c search_path={schema},pg_catalog"
    finally:
        project.db.execute(f'drop schema "{schema}" cascade')


def test_tables_are_distributed_by_the_user_key_on_greenplum_only(project: Project, greenplum_lookalike: str) -> None:
    vars = project.load_sample_events()
    project.build(vars)
    compiled = project.target_dir / "run" / "netflow_pca" / "models" / "intermediate" / "int_hourly_counts.sql"
    assert "distributed by" not in compiled.read_text()

    on_greenplum = project.invoke(
        dbt_command(["run", "--select", "int_hourly_counts"], vars), {**project.env, "PGOPTIONS": greenplum_lookalike}
    )

    # PostgreSQL itself rejects the clause, which shows it was sent; the table stays as it was
    assert on_greenplum.returncode != 0
    assert 'syntax error at or near "distributed"' in on_greenplum.stdout
    assert 'distributed by ("user_name");' in compiled.read_text()
    assert project.db.relation_exists(project.schema, "int_hourly_counts")
