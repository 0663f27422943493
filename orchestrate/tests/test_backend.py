"""The runner's choice of the PCA backend for `pca_backend: auto` (orchestrate.run.backend): it
passes plpython only where the pca_backend macro resolves auto to plpython, checked against the
macro on PostgreSQL, and leaves auto to dbt where only the macro can tell."""

from __future__ import annotations

import json
import uuid
from contextlib import closing

import psycopg2
import pytest

from orchestrate.database import connection_parameters
from orchestrate.run.backend import choose_backend, plpython_problem
from orchestrate.run.options import project_vars
from orchestrate.run.runner import PROJECT_DIR
from orchestrate.tests.conftest import Database, Project
from orchestrate.tests.test_pca import NEEDS_PLPYTHON, plpython_usable

DEFAULTS = project_vars(PROJECT_DIR)


def macro_backend(project: Project, vars: dict[str, str]) -> str:
    """The backend the pca_backend macro resolves the vars' pca_backend to: a fit's own log line."""
    project.db.execute(f'create schema if not exists "{project.schema}"; create table if not exists "{project.schema}".cells as '
                       "select r, c, cast(r * c + (r = c)::int as float8) as v from generate_series(1, 3) as r, generate_series(1, 3) as c")
    args = {"source_table": "cells", "out_table": "fit", "row_id": "r", "col_id": "c", "val_id": "v",
            "row_dim": 3, "col_dim": 3, "components_param": 1}
    result = project.dbt("run-operation", "pca_sparse_train", "--args", json.dumps(args), vars=vars)
    assert result.returncode == 0, result.stdout[-3000:]
    [line] = [line for line in result.stdout.splitlines() if "ran on the" in line]
    return line.split("ran on the ")[1].split()[0]


def test_a_backend_given_by_name_is_left_as_given() -> None:
    assert choose_backend({}, {"pca_backend": "sql"}, DEFAULTS) is None
    assert choose_backend({}, {}, {**DEFAULTS, "pca_backend": "plpython"}) is None


def test_a_superuser_gets_plpython_where_the_macro_takes_it(project: Project, server_env: dict[str, str], db: Database) -> None:
    if not plpython_usable(db):
        pytest.skip(NEEDS_PLPYTHON)
    choice = choose_backend(server_env, {}, DEFAULTS)
    assert choice is not None and choice.vars == {"pca_backend": "plpython"}, choice
    assert choice.describe().startswith("PCA backend: plpython (pca_backend auto: this role is a superuser")
    assert macro_backend(project, {}) == "plpython"
    # a functions schema of its own, which exists
    functions_schema = f"{project.schema}_functions"
    db.execute(f'create schema "{functions_schema}"')
    try:
        choice = choose_backend(server_env, {"pca_functions_schema": functions_schema}, DEFAULTS)
        assert choice is not None and choice.vars == {"pca_backend": "plpython"}, choice
        assert macro_backend(project, {"pca_functions_schema": functions_schema}) == "plpython"
    finally:
        db.execute(f'drop schema "{functions_schema}" cascade')


def test_auto_is_left_to_dbt_where_the_runner_cannot_be_sure(server_env: dict[str, str], db: Database, session_id: str) -> None:
    missing = choose_backend(server_env, {"pca_functions_schema": f"nfpca_test_{session_id}_none"}, DEFAULTS)
    assert missing is not None and missing.vars == {}
    assert missing.describe() == (f"PCA backend: chosen by dbt while it runs (pca_backend auto; the schema nfpca_test_{session_id}_none "
                                  "(the var pca_functions_schema) does not exist).")
    role = f"nfpca_test_{session_id}_{uuid.uuid4().hex[:6]}"
    db.execute(f'create role "{role}" login')
    try:
        with closing(psycopg2.connect(**{"dbname": "postgres", **connection_parameters({**server_env, "PGUSER": role})})) as connection:
            assert "is no superuser" in (plpython_problem(connection, None) or "")
    finally:
        db.execute(f'drop role "{role}"')
    unreachable = choose_backend({**server_env, "PGPORT": "1"}, {}, DEFAULTS)
    assert unreachable is not None and unreachable.vars == {}
    assert "the server could not be asked" in unreachable.reason
