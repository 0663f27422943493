"""The PCA backend of a build whose var pca_backend is `auto`, where the runner can be sure of it
before dbt starts.

dbt resolves `auto` only while it runs (macros/pca_sparse_train/pca_backend.sql asks the server),
after it has parsed the graph for the vars as given: with `auto` the graph keeps the set-based
models of the residual method, which the plpython route builds empty, and the scores wait for them
and thereby for int_pca_input's tests (residual_scoring_route). When the macro is sure to resolve
`auto` to plpython, the runner passes `pca_backend: plpython` instead, and dbt parses the plpython
build's graph; otherwise it leaves `auto` to dbt, as before.

Sure, without a copy of the macro's rules: `auto` tries plpython first and takes it when this role
may install its functions (or finds them installed at this version) and numpy imports inside
PL/Python. A superuser may always install them where the language plpython3u is created and the
functions' schema exists (or is the target schema, which dbt creates before any model runs); numpy
is tried in a DO block. For any other role the answer turns on whether the installed functions are
of this version, which only the macro can tell (it compares digests of their definitions): the
runner leaves `auto` to dbt. test_backend checks the answer against the macro's on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from orchestrate.database import connection_parameters

# what the runner reads of the catalog: this role, the language, the functions' schema (none: the target schema)
CATALOG_FACTS = """
    select
        (select rolsuper from pg_catalog.pg_roles where rolname = current_user),
        exists (select from pg_catalog.pg_language where lanname = 'plpython3u'),
        %(schema)s is null or exists (select from pg_catalog.pg_namespace where nspname = %(schema)s)
"""
NUMPY_IMPORTS = "do $numpy$ import numpy $numpy$ language plpython3u"


@dataclass(frozen=True)
class BackendChoice:
    """The vars to add (pca_backend plpython when sure, else none) and why, for people."""

    reason: str
    vars: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.vars:
            return f"PCA backend: {self.vars['pca_backend']} ({self.reason})."
        return f"PCA backend: chosen by dbt while it runs ({self.reason})."


def plpython_problem(connection: Any, functions_schema: str | None) -> str | None:
    """Why the runner cannot be sure that `auto` resolves to plpython on this connection, or None
    when it is sure."""
    with connection.cursor() as cursor:
        cursor.execute(CATALOG_FACTS, {"schema": functions_schema})
        superuser, has_plpython, schema_ready = cursor.fetchone()
    if not superuser:
        return "this role is no superuser, so whether the installed PL/Python functions serve is dbt's to tell"
    if not has_plpython:
        return "the extension plpython3u is not created in this database"
    if not schema_ready:
        return f"the schema {functions_schema} (the var pca_functions_schema) does not exist"
    try:
        with connection.cursor() as cursor:
            cursor.execute(NUMPY_IMPORTS)
    except psycopg2.Error as error:
        connection.rollback()
        return f"numpy does not import inside PL/Python ({' '.join(str(error).split())[:200]})"
    return None


def choose_backend(environ: Mapping[str, str], vars: Mapping[str, Any], defaults: Mapping[str, Any]) -> BackendChoice | None:
    """For a build with these vars (over the project's defaults) on the server `environ` names (the
    database as profiles.yml.example reads it): pca_backend plpython when the var is auto and the
    macro is sure to resolve it so; None when the var names a backend (nothing to choose)."""
    effective = {**defaults, **vars}
    if effective.get("pca_backend") != "auto":
        return None
    try:
        with closing(psycopg2.connect(**{"dbname": "postgres", **connection_parameters(environ)})) as connection:
            problem = plpython_problem(connection, effective.get("pca_functions_schema"))
    except psycopg2.Error as error:
        problem = f"the server could not be asked ({' '.join(str(error).split())[:200]})"
    if problem is not None:
        return BackendChoice(f"pca_backend auto; {problem}")
    return BackendChoice("pca_backend auto: this role is a superuser, PL/Python is created and numpy imports",
                         {"pca_backend": "plpython"})
