"""Least privilege and secrets, with the real `netflow-pca` command on real PostgreSQL.

The pipeline runs under a role that may only read the events schema and write its own target
schema, with the grants the README shows; an administrator has installed the PCA's functions. Its
password comes from PGPASSWORD over TCP (the test server trusts any password, which suffices to
see where the string would land) and must appear in no artifact: dbt's target folder and logs, the
runner's record of the run, the report and export in runs/, the docs site, the command's output.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrate.tests.conftest import Database, InProcessDbt, _project, run_cli


@dataclass(frozen=True)
class PipelineRole:
    name: str
    password: str
    events_schema: str
    env: dict[str, str]
    outputs: str


@pytest.fixture(scope="module")
def pipeline_role(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt
) -> Iterator[PipelineRole]:
    """A role with the README's grants, its password, and one `netflow-pca run` and `docs` by it."""
    name = f"nfpca_test_{session_id}_pipeline"
    password = f"pw-{uuid.uuid4().hex}"
    tmp = tmp_path_factory.mktemp("security")
    for events in _project(db, server_env, f"nfpca_test_{session_id}_events", tmp / "events", invoke_dbt):
        events.load_sample_events()
        db.execute(f"""
            create role "{name}" login password '{password}' nosuperuser nocreatedb nocreaterole;
            create schema "{name}" authorization "{name}";
            grant usage on schema "{events.schema}" to "{name}";
            grant select on all tables in schema "{events.schema}" to "{name}";
        """)
        try:
            # the administrator, once: the PCA's functions in the pipeline's schema
            installed = invoke_dbt(["run-operation", "install_pca_functions"], {**events.env, "NETFLOW_PCA_SCHEMA": name})
            assert installed.returncode == 0, installed.stdout[-3000:]
            env = {
                **events.env,
                "PGHOST": "127.0.0.1",
                "PGUSER": name,
                "PGPASSWORD": password,
                "NETFLOW_PCA_SCHEMA": name,
                "DBT_TARGET_PATH": str(tmp / "target"),
                "DBT_LOG_PATH": str(tmp / "logs"),
                "NETFLOW_PCA_RUNS_PATH": str(tmp / "runs"),
            }
            # both methods: the loading method's PCA marts are fitted only when it scores
            vars = ("--var", f"events_schema={events.schema}", "--var", "events_table=events", "--var", "scoring_method=both")
            run, docs = run_cli(env, "run", *vars), run_cli(env, "docs", *vars)
            assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
            assert docs.returncode == 0, docs.stdout[-4000:] + docs.stderr[-2000:]
            yield PipelineRole(name, password, events.schema, env, run.stdout + run.stderr + docs.stdout + docs.stderr)
        finally:
            db.execute(f'drop schema if exists "{name}" cascade; drop owned by "{name}"; drop role if exists "{name}"')


def test_the_pipeline_role_holds_no_power_beyond_its_grants(db: Database, pipeline_role: PipelineRole) -> None:
    [(superuser, create_db, create_role, create_on_public, create_on_database)] = db.rows(
        """select rolsuper, rolcreatedb, rolcreaterole, has_schema_privilege(rolname, 'public', 'CREATE'),
                  has_database_privilege(rolname, current_database(), 'CREATE')
           from pg_roles where rolname = %s""",
        (pipeline_role.name,),
    )
    assert not (superuser or create_db or create_role or create_on_public or create_on_database)


def test_a_full_build_under_the_role_writes_only_its_schema_and_fits_with_plpython(
    db: Database, pipeline_role: PipelineRole
) -> None:
    owned_elsewhere = db.rows(
        """select 'relation', n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where c.relowner = to_regrole(%(role)s) and n.nspname <> %(schema)s
             and n.nspname <> 'pg_toast' and n.nspname not like 'pg\\_%%temp\\_%%'
           union all
           select 'function', n.nspname || '.' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where p.proowner = to_regrole(%(role)s) and n.nspname <> %(schema)s
           union all
           select 'schema', nspname from pg_namespace where nspowner = to_regrole(%(role)s) and nspname <> %(schema)s""",
        {"role": f'"{pipeline_role.name}"', "schema": pipeline_role.name},
    )
    assert owned_elsewhere == []
    [(components, hours)] = db.rows(
        f'select count(*), count(distinct hour_of_day) from "{pipeline_role.name}".pca_components'
    )
    assert components > 0 and hours == 24
    assert "ran on the plpython backend" in (Path(pipeline_role.env["DBT_LOG_PATH"]) / "dbt.log").read_text()


def test_the_password_lands_in_no_artifact(pipeline_role: PipelineRole) -> None:
    target, logs = Path(pipeline_role.env["DBT_TARGET_PATH"]), Path(pipeline_role.env["DBT_LOG_PATH"])
    runs = Path(pipeline_role.env["NETFLOW_PCA_RUNS_PATH"])
    artifacts = [path for folder in (target, logs, runs) for path in folder.rglob("*") if path.is_file()]
    expected = {target / "static_index.html", logs / "dbt.log"}
    assert expected <= set(artifacts)
    assert any(path.name == "plan.json" and path.is_relative_to(target / "netflow_pca") for path in artifacts)
    assert any(path.is_relative_to(runs) for path in artifacts), "the run wrote no report or export"
    assert [str(path) for path in artifacts if pipeline_role.password.encode() in path.read_bytes()] == []
    assert pipeline_role.password not in pipeline_role.outputs
