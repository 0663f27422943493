"""The project on a PostgreSQL that answers like Greenplum 7 (greenplum_standin): every statement a
build sends is one Greenplum's planner takes, every table model gets its deliberate distribution,
and on PostgreSQL itself no Greenplum clause is sent."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from orchestrate.database import connection_parameters
from orchestrate.run.options import dbt_command
from orchestrate.tests.conftest import Database, DbtResult, InProcessDbt, Project, _project
from orchestrate.tests.greenplum_standin import (
    LATERAL_AGGREGATE,
    MERGE,
    NESTED_CORRELATED_SUBQUERY,
    GreenplumStandin,
    create_version_function,
    greenplum_rejects,
    server_aggregates,
)
from orchestrate.tests.madlib_standin import install_madlib_standin
from orchestrate.tests.test_pca import NEEDS_PLPYTHON, plpython_usable

AGGREGATES = frozenset({"max", "min", "sum", "count", "array_agg"})

RULE_CASES = [
    # the sign fix as it was: an aggregate in a lateral subquery of an INSERT
    ("insert into t select u.a from u cross join lateral (select max(abs(e)) as m from unnest(u.a) as e) as l", [LATERAL_AGGREGATE]),
    ("create table t as select u.a from u cross join lateral (select count(*) as n from unnest(u.a)) as l", [LATERAL_AGGREGATE]),
    ("create table t as with w as (select u.a, l.r from u, lateral (select row_number() over () as r from unnest(u.a)) as l) "
     "select * from w", [LATERAL_AGGREGATE]),
    ("insert into t select (select min(e.i) from unnest(u.a) with ordinality as e (x, i) "
     "where e.x >= (select max(f.x) from unnest(u.a) as f (x))) from u", [NESTED_CORRELATED_SUBQUERY]),
    ("merge into t using u on t.a = u.a when matched then delete", [MERGE]),
    # the same select alone, a lateral set-returning function, a correlated scalar subquery with a
    # window aggregate, an uncorrelated scalar subquery: all taken
    ("select u.a from u cross join lateral (select max(abs(e)) as m from unnest(u.a) as e) as l", []),
    ("insert into t select u.a, e.x from u cross join lateral unnest(u.a) as e (x)", []),
    ("insert into t select (select e.i from (select e.x, e.i, max(abs(e.x)) over () as m "
     "from unnest(u.a) with ordinality as e (x, i)) as e where abs(e.x) >= e.m order by e.i limit 1) from u", []),
    ("create table t as select u.a, (select max(v.b) from v) as b from u", []),
]


@pytest.mark.parametrize(("sql", "problems"), RULE_CASES, ids=[sql[:60] for sql, _ in RULE_CASES])
def test_the_rules_name_the_shapes_greenplum_rejects(sql: str, problems: list[str]) -> None:
    assert greenplum_rejects(sql, AGGREGATES) == problems


@pytest.fixture(scope="module")
def standin(db: Database, server_env: dict[str, str]) -> Iterator[GreenplumStandin]:
    with db.connect() as connection, connection.cursor() as cursor:
        aggregates = server_aggregates(cursor)
    proxy = GreenplumStandin(server_env.get("PGHOST") or "127.0.0.1", int(server_env.get("PGPORT") or 5432), aggregates)
    proxy.start()
    yield proxy
    proxy.stop()


def through(standin: GreenplumStandin, env: dict[str, str], version_schema: str) -> dict[str, str]:
    return {**env, "PGHOST": "127.0.0.1", "PGPORT": str(standin.port), "PGOPTIONS": standin.search_path_option(version_schema)}


def test_the_standin_answers_as_greenplum(standin: GreenplumStandin, project: Project) -> None:
    schema = project.schema
    version_schema = f"{schema}_gp"
    project.db.execute(f'create schema "{schema}"')
    create_version_function(project.db, version_schema)
    try:
        env = through(standin, project.env, version_schema)
        with psycopg2.connect(**connection_parameters(env), options=env["PGOPTIONS"]) as connection:
            with connection.cursor() as cursor:
                cursor.execute("select version()")
                assert "Greenplum Database 7" in cursor.fetchone()[0]
                cursor.execute(f'create table "{schema}".t (a integer, arr integer[]) distributed by (a)')
                cursor.execute(f'create table "{schema}".r as select 1 as b distributed replicated')
                for sql in [
                    f'insert into "{schema}".t select t.a, t.arr from "{schema}".t cross join lateral (select max(e) as m from unnest(t.arr) as e) as l',
                    f'merge into "{schema}".t using "{schema}".r on t.a = r.b when matched then delete',
                ]:
                    with pytest.raises(psycopg2.Error, match="Greenplum stand-in rejects"):
                        cursor.execute(sql)
                    connection.rollback()
    finally:
        project.db.execute(f'drop schema "{version_schema}" cascade')
    created = {(table.name, table.distribution) for table in standin.created}
    assert {("t", "by (a)"), ("r", "replicated")} <= created


@dataclass
class GreenplumBuild:
    backend: str
    project: Project
    results: list[DbtResult]
    rejected: list[tuple[str, str]]
    created: dict[str, set[str | None]]  # table name -> the distributions it was created with

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.project.target_dir / "manifest.json").read_text())


@pytest.fixture(scope="module", params=["sql", "plpython", "madlib"])
def greenplum_build(
    request: pytest.FixtureRequest, standin: GreenplumStandin, db: Database, server_env: dict[str, str],
    session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt,
) -> Iterator[GreenplumBuild]:
    """The whole pipeline built through the stand-in with one PCA backend (both scoring methods),
    then one hour of it built again (the incremental path)."""
    backend = request.param
    if backend != "sql" and not plpython_usable(db):
        pytest.skip(NEEDS_PLPYTHON)
    schema = f"nfpca_test_{session_id}_gp_{backend}"
    for project in _project(db, server_env, schema, tmp_path_factory.mktemp(f"gp_{backend}"), invoke_dbt):
        version_schema, madlib_schema = f"{schema}_version", f"{schema}_madlib"
        create_version_function(db, version_schema)
        if backend == "madlib":
            install_madlib_standin(db, madlib_schema)
        try:
            events = project.load_sample_events()
            env = through(standin, project.env, version_schema)
            vars = {**events, "pca_backend": backend, "scoring_method": "both", "madlib_schema": madlib_schema}
            rejected_before, created_before = len(standin.rejected), len(standin.created)
            results = [project.invoke(dbt_command(["build"], {**run_vars}), env) for run_vars in [vars, {**vars, "hour_id": 12}]]
            created: dict[str, set[str | None]] = {}
            for table in standin.created[created_before:]:
                created.setdefault(table.name, set()).add(table.distribution)
            yield GreenplumBuild(backend, project, results, standin.rejected[rejected_before:], created)
        finally:
            db.execute(f'drop schema if exists "{version_schema}" cascade; drop schema if exists "{madlib_schema}" cascade')


def test_every_statement_of_a_build_is_one_greenplum_takes(greenplum_build: GreenplumBuild) -> None:
    """Runs, hooks and macros' statements included, for all hours and for one hour."""
    for result in greenplum_build.results:
        assert result.returncode == 0, result.stdout[-4000:]
    assert greenplum_build.rejected == []
    assert f"ran on the {greenplum_build.backend} backend" in greenplum_build.results[0].stdout


def table_models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        node["name"]: node["config"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] in ("table", "incremental")
    }


def expected_distribution(config: dict[str, Any]) -> str | None:
    if config.get("distributed_replicated"):
        return "replicated"
    columns = config.get("distributed_by")
    return "by (" + ", ".join(f'"{column}"' for column in columns) + ")" if columns else None


def test_every_table_model_declares_its_distribution(greenplum_build: GreenplumBuild) -> None:
    """So that a new model cannot fall to Greenplum's default, its first column."""
    models = table_models(greenplum_build.manifest())
    assert {"int_hourly_counts", "pca_components", "pca_column_means", "user_outlier_scores"} <= models.keys()
    undeclared = sorted(name for name, config in models.items() if expected_distribution(config) is None)
    assert undeclared == [], f"set distributed_by or distributed_replicated on {undeclared} (docs/greenplum.md)"


def test_every_table_model_is_created_with_its_distribution(greenplum_build: GreenplumBuild) -> None:
    """Each table a model creates (its final table, dbt's intermediate and temporary ones) carries
    the clause of the model's config."""
    for name, config in table_models(greenplum_build.manifest()).items():
        own = re.compile(re.escape(name) + r"(__dbt_tmp[0-9]*)?")
        sent = set().union(*[found for table, found in greenplum_build.created.items() if own.fullmatch(table)])
        assert sent == {expected_distribution(config)}, name


def test_every_other_table_a_build_creates_is_distributed_deliberately(greenplum_build: GreenplumBuild) -> None:
    """The PCA's output and scratch tables too. Only the seed (its first column, user_name, is the
    key the policy would choose) and the temporary tables of dbt's unit tests keep Greenplum's
    default."""
    manifest = greenplum_build.manifest()
    seeds = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "seed"}
    unit_tests = [test["name"] for test in manifest["unit_tests"].values()]
    assert any(name.startswith("pca_components__fit") for name in greenplum_build.created)
    undistributed = sorted(
        name for name, found in greenplum_build.created.items()
        if None in found and name not in seeds and not any(test.startswith(name.split("__dbt_tmp")[0]) for test in unit_tests)
    )
    assert undistributed == []


def test_no_compiled_model_breaks_a_greenplum_rule(greenplum_build: GreenplumBuild, standin: GreenplumStandin) -> None:
    """Every model's select ends up in a CREATE TABLE AS or an INSERT (a view's, inlined in its
    readers'), so each is checked as one."""
    compiled = sorted((greenplum_build.project.target_dir / "compiled").rglob("models/**/*.sql"))
    assert len(compiled) >= 10
    problems = {
        str(path.relative_to(greenplum_build.project.target_dir)): greenplum_rejects(
            "create table greenplum_check as " + path.read_text(), standin.aggregates)
        for path in compiled
    }
    assert {path: found for path, found in problems.items() if found} == {}


def test_postgresql_gets_no_greenplum_clause(built_project: Project) -> None:
    compiled = sorted((built_project.target_dir / "run").rglob("*.sql"))
    assert compiled
    assert not [path for path in compiled if "distributed" in Path(path).read_text().lower()]


