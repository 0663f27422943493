"""pca_sparse_train on real PostgreSQL: every backend against numpy on random sparse matrices, the
edge cases, the argument checks, backend choice and least privilege."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg2.extras
import pytest

from orchestrate.lab.reference.pca import dense, fit_pca
from orchestrate.tests.conftest import Database, DbtResult, InProcessDbt, Project, _project
from orchestrate.tests.madlib_standin import install_madlib_standin
from orchestrate.tests.pca_assertions import assert_fit_matches, largest_entry_is_positive

BACKENDS = ["plpython", "sql", "madlib"]
NEEDS_PLPYTHON = "PL/Python (plpython3u) with numpy is not usable on this server; CI installs it (.ci/run)"

# (table, rows, columns, densities of its groups (None: no grouping column), value distribution)
MATRICES = {
    "wide": (12, 60, [0.01, 0.1, 0.3, 0.6], "counts"),
    "tall": (45, 10, [0.05, 0.3, 0.6], "normal"),
    "square": (20, 20, None, "counts"),
}

def plpython_usable(db: Database) -> bool:
    try:
        db.execute("do $$ import numpy $$ language plpython3u")
    except psycopg2.Error:
        return False
    return True


@pytest.fixture(scope="module")
def pca(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt
) -> Iterator[Project]:
    """A schema holding the random matrices, the edge cases and (with PL/Python) a MADlib stand-in."""
    schema = f"nfpca_test_{session_id}_pca"
    for project in _project(db, server_env, schema, tmp_path_factory.mktemp("pca"), invoke_dbt):
        rng = np.random.default_rng(20240501)
        db.execute(f'create schema "{schema}"')
        for table, (n, p, densities, distribution) in MATRICES.items():
            cells = []
            for group, density in enumerate(densities or [0.3], start=1):
                mask = rng.random((n, p)) < density
                values = rng.integers(1, 40, (n, p)) + rng.random((n, p)) if distribution == "counts" else rng.normal(0, 5, (n, p))
                cells += [(group, int(r) + 1, int(c) + 1, float(values[r, c])) for r, c in zip(*np.nonzero(mask))]
            insert(db, schema, table, cells, grouped=densities is not None)
        # g 1: random, with column 3 the same on every row; g 2: all rows equal (no variance)
        edges = [(1, r, c, float(rng.integers(1, 9))) for r in range(1, 7) for c in range(1, 9) if c != 3 and rng.random() < 0.5]
        edges += [(1, r, 3, 4.0) for r in range(1, 7)] + [(2, r, c, float(c)) for r in range(1, 7) for c in (2, 5)]
        insert(db, schema, "edges", edges, grouped=True)
        insert(db, schema, "one_row", [(1, 1, c, float(c)) for c in range(1, 6)], grouped=False)
        insert(db, schema, "empty", [], grouped=False)
        # column 2 is column 1 times -(1 + 1e-11): the first component's largest magnitude is column
        # 2's, positive, but column 1's, negative, lies within the sign tolerance of it and comes first
        tied = [0.0, 3.0, -1.0, 4.0, 2.0, -5.0]
        insert(db, schema, "tied", [(1, r, 1, -t) for r, t in enumerate(tied, start=1) if t]
               + [(1, r, 2, t * (1 + 1e-11)) for r, t in enumerate(tied, start=1) if t]
               + [(1, r, 3, 0.01 * (r % 3)) for r in range(1, 7) if r % 3], grouped=False)
        insert(db, schema, "duplicates", [(1, 1, 1, 1.0), (1, 2, 3, 2.0), (1, 2, 3, 5.0), (1, 3, 2, 1.0)], grouped=False)
        if plpython_usable(db):
            install_madlib_standin(db, f"{schema}_madlib")
        try:
            yield project
        finally:
            db.execute(f'drop schema if exists "{schema}_madlib" cascade')


def insert(db: Database, schema: str, table: str, cells: list[tuple[int, int, int, float]], grouped: bool) -> None:
    columns = "g integer, r integer, c integer, v double precision" if grouped else "r integer, c integer, v double precision"
    with db.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f'create table "{schema}".{table} ({columns})')
        rows = cells if grouped else [cell[1:] for cell in cells]
        psycopg2.extras.execute_values(cursor, f'insert into "{schema}".{table} values %s', rows)


def train(pca: Project, backend: str, table: str, n: int, p: int, components: float, grouped: bool, out: str = "fit") -> DbtResult:
    args = {
        "source_table": table, "out_table": out, "row_id": "r", "col_id": "c", "val_id": "v",
        "row_dim": n, "col_dim": p, "components_param": components, "grouping_cols": "g" if grouped else None,
    }
    return pca.dbt(
        "run-operation", "pca_sparse_train", "--args", json.dumps(args),
        vars={"pca_backend": backend, "madlib_schema": f"{pca.schema}_madlib"},
    )


def fitted_groups(pca: Project, out: str = "fit", grouped: bool = True, group: str = "g") -> dict[Any, tuple[list[tuple[Any, ...]], list[float]]]:
    """group value -> (component rows by row_id, column means); group 1 without grouping."""
    group = group if grouped else "1"
    means = dict(pca.db.rows(f'select {group}, column_mean from "{pca.schema}"."{out}_mean"'))
    result: dict[Any, tuple[list[tuple[Any, ...]], list[float]]] = {key: ([], mean) for key, mean in means.items()}
    for key, *row in pca.db.rows(
        f'select {group}, row_id, principal_components, std_dev, proportion from "{pca.schema}"."{out}" order by 1, 2'
    ):
        result[key][0].append(tuple(row))
    return result


def matrices(pca: Project, table: str, n: int, p: int, grouped: bool) -> dict[int, np.ndarray]:
    group = "g" if grouped else "1"
    cells: dict[int, list[tuple[int, int, float]]] = {}
    for key, r, c, v in pca.db.rows(f'select {group}, r, c, v from "{pca.schema}".{table}'):
        cells.setdefault(key, []).append((r, c, v))
    return {key: dense(group_cells, n, p) for key, group_cells in cells.items()}


def skip_without_plpython(pca: Project, backend: str) -> None:
    if backend != "sql" and not plpython_usable(pca.db):
        pytest.skip(NEEDS_PLPYTHON)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("table", "components"), [("wide", 0.9), ("tall", 6), ("square", 1.0)])
def test_backend_equals_numpy(pca: Project, backend: str, table: str, components: float) -> None:
    skip_without_plpython(pca, backend)
    n, p, densities, _ = MATRICES[table]
    grouped = densities is not None

    result = train(pca, backend, table, n, p, components, grouped)

    assert result.returncode == 0, result.stdout[-3000:]
    assert f"ran on the {backend} backend" in result.stdout
    fitted = fitted_groups(pca, grouped=grouped)
    expected = matrices(pca, table, n, p, grouped)
    assert fitted.keys() == expected.keys()
    for key, x in expected.items():
        assert_fit_matches(*fitted[key], fit_pca(x, components))


@pytest.mark.parametrize("backend", BACKENDS)
def test_edge_cases_have_clear_outcomes(pca: Project, backend: str) -> None:
    skip_without_plpython(pca, backend)

    # a zero-variance column, and a group whose rows are all equal
    result = train(pca, backend, "edges", 6, 8, 0.95, grouped=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "g = 2 has no variance" in result.stdout
    fitted = fitted_groups(pca)
    expected = matrices(pca, "edges", 6, 8, grouped=True)
    assert_fit_matches(*fitted[1], fit_pca(expected[1], 0.95))
    assert all(abs(vector[2]) < 1e-12 for _, vector, _, _ in fitted[1][0])
    assert fitted[2][0] == [] and fitted[2][1] == [0, 2, 0, 0, 5, 0, 0, 0]

    # one row of data: no variance, no components, no crash
    result = train(pca, backend, "one_row", 1, 5, 1, grouped=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "the matrix has no variance" in result.stdout
    assert fitted_groups(pca, grouped=False) == {1: ([], [1, 2, 3, 4, 5])}
    # the backend's scratch tables are dropped with the fit, after the warnings read them
    assert pca.db.rows(f"""select count(*) from pg_class where relname like 'pca_work%' and relnamespace in (
        select oid from pg_namespace where nspname = '{pca.schema}')""") == [(0,)]

    # no data at all: zero means, no components
    result = train(pca, backend, "empty", 3, 4, 0.5, grouped=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert fitted_groups(pca, grouped=False) == {1: ([], [0, 0, 0, 0])}


@pytest.mark.parametrize("backend", ["plpython", "sql"])
def test_counts_in_the_billions_fit_as_numpy(pca: Project, backend: str) -> None:
    """Flow counts beyond 32 bits (a bigint column, as count(*) gives) lose nothing on the way."""
    skip_without_plpython(pca, backend)
    values = np.random.default_rng(7).integers(1, 6_000_000_000, (8, 5))
    cells = [(r + 1, c + 1, int(values[r, c])) for r in range(8) for c in range(5)]
    pca.db.execute(f'create table if not exists "{pca.schema}".billions (r integer, c integer, v bigint)')
    pca.db.execute(f'truncate "{pca.schema}".billions')
    with pca.db.connect() as connection, connection.cursor() as cursor:
        psycopg2.extras.execute_values(cursor, f'insert into "{pca.schema}".billions values %s', cells)

    result = train(pca, backend, "billions", 8, 5, 1.0, grouped=False)

    assert result.returncode == 0, result.stdout[-3000:]
    assert_fit_matches(*fitted_groups(pca, grouped=False)[1], fit_pca(dense(cells, 8, 5), 1.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_duplicate_cells_are_refused_and_the_last_output_kept(pca: Project, backend: str) -> None:
    skip_without_plpython(pca, backend)
    assert train(pca, backend, "square", 20, 20, 2, grouped=False, out="kept").returncode == 0
    before = pca.db.rows(f'select * from "{pca.schema}".kept order by row_id')

    result = train(pca, backend, "duplicates", 3, 3, 1, grouped=False, out="kept")

    assert result.returncode != 0
    assert "duplicate entries for (row 2, column 3)" in result.stdout
    assert pca.db.rows(f'select * from "{pca.schema}".kept order by row_id') == before


BAD_ARGUMENTS: list[tuple[dict[str, Any], str]] = [
    ({"row_dim": 11}, "invalid argument row_dim: 11 is smaller than the largest id in column 'r', 12"),
    ({"col_dim": 59}, "invalid argument col_dim: 59 is smaller than the largest id in column 'c'"),
    ({"row_dim": 0}, "invalid argument row_dim: expected a positive integer"),
    ({"col_dim": "60; drop table x"}, "invalid argument col_dim: expected a positive integer"),
    ({"components_param": 0}, "invalid argument components_param"),
    ({"components_param": 1.5}, "invalid argument components_param"),
    ({"components_param": 13}, "invalid argument components_param: 13 components asked for, but min(row_dim, col_dim) is 12"),
    ({"source_table": "no_such_table"}, "invalid argument source_table: relation"),
    ({"source_table": "wide; drop table x"}, "invalid argument source_table: expected a table name"),
    ({"out_table": 'x"; drop table x; --'}, "invalid argument out_table: expected a table name"),
    ({"out_table": "wide"}, "invalid argument out_table"),
    ({"row_id": "day"}, "invalid argument row_id: 'day' is not a column of the source; its columns are g, r, c, v"),
    ({"col_id": "v"}, "invalid argument col_id: column 'v' has type double precision; expected an integer type"),
    ({"val_id": "r", "row_id": "c", "col_id": "c"}, "invalid argument row_id, col_id and val_id"),
    ({"grouping_cols": "g, h"}, "invalid argument grouping_cols: 'h' is not a column"),
]


@pytest.mark.parametrize(("change", "message"), BAD_ARGUMENTS, ids=[json.dumps(change) for change, _ in BAD_ARGUMENTS])
def test_bad_arguments_are_named(pca: Project, change: dict[str, Any], message: str) -> None:
    args = {
        "source_table": "wide", "out_table": "checked", "row_id": "r", "col_id": "c", "val_id": "v",
        "row_dim": 12, "col_dim": 60, "components_param": 0.9, "grouping_cols": "g", **change,
    }
    result = pca.dbt("run-operation", "pca_sparse_train", "--args", json.dumps(args), vars={"pca_backend": "sql"})
    assert result.returncode != 0
    assert message in result.stdout
    assert not pca.db.relation_exists(pca.schema, "checked")


@pytest.mark.parametrize(
    ("bad_cells", "message"),
    [
        ("(1, null, 1, 1.0)", "invalid argument row_id: column 'r' has 1 NULL values"),
        ("(1, 1, 1, null)", "invalid argument val_id: column 'v' has 1 NULL values"),
        ("(1, 1, 1, 'NaN')", "invalid argument val_id: column 'v' has 1 NaN or infinite values"),
        ("(1, 0, 1, 1.0)", "invalid argument row_id: ids are 1-based, but column 'r' holds 0"),
        ("(null, 1, 1, 1.0)", "invalid argument grouping_cols: a grouping column has NULL values"),
    ],
)
def test_bad_cells_are_named(pca: Project, bad_cells: str, message: str) -> None:
    pca.db.execute(f'create table "{pca.schema}".bad as select * from "{pca.schema}".edges; insert into "{pca.schema}".bad values {bad_cells}')
    try:
        args = {"source_table": "bad", "out_table": "checked", "row_id": "r", "col_id": "c", "val_id": "v",
                "row_dim": 6, "col_dim": 8, "components_param": 2, "grouping_cols": "g"}
        result = pca.dbt("run-operation", "pca_sparse_train", "--args", json.dumps(args), vars={"pca_backend": "sql"})
    finally:
        pca.db.execute(f'drop table "{pca.schema}".bad')
    assert result.returncode != 0
    assert message in result.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_any_names_and_group_values(pca: Project, backend: str) -> None:
    """Quoted, mixed-case names with spaces, and text group values holding quotes, fit as plain
    ones on every backend (MADlib pastes names and group values into its SQL unquoted)."""
    skip_without_plpython(pca, backend)
    pca.db.execute(
        f'create table if not exists "{pca.schema}"."Flow Cells" as select %s || g || %s as "Hour Name",'
        f' r as "Day", c as "User Id", v as "Count" from "{pca.schema}".tall',
        ("hour ", "'s"),
    )
    args = {"source_table": f'"{pca.schema}"."Flow Cells"', "out_table": '"Flow Fit"', "row_id": "Day",
            "col_id": "User Id", "val_id": "Count", "row_dim": 45, "col_dim": 10, "components_param": 6,
            "grouping_cols": "Hour Name"}

    result = pca.dbt("run-operation", "pca_sparse_train", "--args", json.dumps(args),
                     vars={"pca_backend": backend, "madlib_schema": f"{pca.schema}_madlib"})

    assert result.returncode == 0, result.stdout[-3000:]
    fitted = fitted_groups(pca, out="Flow Fit", group='"Hour Name"')
    expected = matrices(pca, "tall", 45, 10, grouped=True)
    assert sorted(fitted) == sorted(f"hour {g}'s" for g in expected)
    for g, x in expected.items():
        assert_fit_matches(*fitted[f"hour {g}'s"], fit_pca(x, 6))


def test_text_ids_are_refused(pca: Project) -> None:
    pca.db.execute(f'create table "{pca.schema}".text_ids as select r, c::text as name, v from "{pca.schema}".square')
    args = {"source_table": "text_ids", "out_table": "fit", "row_id": "r", "col_id": "name", "val_id": "v",
            "row_dim": 20, "col_dim": 20, "components_param": 2}
    result = pca.dbt("run-operation", "pca_sparse_train", "--args", json.dumps(args))
    assert result.returncode != 0
    assert "invalid argument col_id: column 'name' has type text; expected an integer type" in result.stdout


def test_madlib_backend_calls_madlib_once_with_plain_names(pca: Project) -> None:
    skip_without_plpython(pca, "madlib")
    pca.db.execute(f'truncate "{pca.schema}_madlib".calls')
    for table, components in [("wide", 0.9), ("tall", 6)]:
        n, p, _, _ = MATRICES[table]
        result = pca.dbt(
            "run-operation", "pca_sparse_train", "--args",
            json.dumps({"source_table": table, "out_table": "fit", "row_id": "r", "col_id": "c", "val_id": "v",
                        "row_dim": n, "col_dim": p, "components_param": components, "grouping_cols": "g"}),
            vars={"pca_backend": "madlib", "madlib_schema": f"{pca.schema}_madlib"},
        )
        assert result.returncode == 0, result.stdout[-3000:]
        assert "ran on the madlib backend (pca_backend madlib)" in result.stdout
    calls = pca.db.rows(f'''select source_table ~ '^pg_temp[.]pca_work_[0-9a-f]{{10}}_cells$', row_id, col_id, val_id,
        components, variance, grouping_cols, lanczos_iter from "{pca.schema}_madlib".calls''')
    assert calls == [(True, "row_num", "col_num", "val", None, 0.9, "grp", 12), (True, "row_num", "col_num", "val", 6, None, "grp", 10)]
    # its own schemas only: a build running beside the tests holds work tables of its own meanwhile
    assert pca.db.rows(f"""select count(*) from pg_class where relname like 'pca_work%' and relnamespace in (
        select oid from pg_namespace where nspname in ('{pca.schema}', '{pca.schema}_madlib'))""") == [(0,)]


def test_auto_prefers_plpython_over_madlib(pca: Project) -> None:
    """MADlib is installed (the stand-in), but auto takes the fastest backend."""
    skip_without_plpython(pca, "plpython")
    args = {"source_table": "square", "out_table": "fit", "row_id": "r", "col_id": "c", "val_id": "v",
            "row_dim": 20, "col_dim": 20, "components_param": 3}
    result = pca.dbt("run-operation", "pca_sparse_train", "--args", json.dumps(args),
                     vars={"madlib_schema": f"{pca.schema}_madlib"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ran on the plpython backend (pca_backend auto)" in result.stdout


def test_auto_takes_madlib_where_neither_plpython_nor_sql_can_run(pca: Project, session_id: str) -> None:
    skip_without_plpython(pca, "madlib")
    args = {"source_table": "square", "out_table": "fit", "row_id": "r", "col_id": "c", "val_id": "v",
            "row_dim": 20, "col_dim": 20, "components_param": 3}
    result = pca.dbt("run-operation", "pca_sparse_train", "--args", json.dumps(args), vars={
        "madlib_schema": f"{pca.schema}_madlib", "pca_functions_schema": f"nfpca_test_{session_id}_no_functions"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ran on the madlib backend (pca_backend auto (plpython: missing, and schema" in result.stdout
    assert "; sql: missing, and schema" in result.stdout
    assert_fit_matches(*fitted_groups(pca, grouped=False)[1], fit_pca(matrices(pca, "square", 20, 20, False)[1], 3))


def test_a_role_without_superuser_runs_sql_until_an_administrator_installs_plpython(pca: Project, session_id: str) -> None:
    skip_without_plpython(pca, "plpython")
    role, schema = f"nfpca_test_{session_id}_analyst", f"nfpca_test_{session_id}_analyst"
    pca.db.execute(f'create role "{role}" login; create schema "{schema}" authorization "{role}";'
                   f'grant usage on schema "{pca.schema}" to "{role}"; grant select on "{pca.schema}".square to "{role}"')
    # a target folder of its own, so that dbt's partial parsing survives the change of user
    analyst = {**pca.env, "PGUSER": role, "NETFLOW_PCA_SCHEMA": schema, "DBT_TARGET_PATH": f"{pca.env['DBT_TARGET_PATH']}_analyst"}
    args = json.dumps({"source_table": f"{pca.schema}.square", "out_table": "fit", "row_id": "r", "col_id": "c",
                       "val_id": "v", "row_dim": 20, "col_dim": 20, "components_param": 3})
    try:
        result = pca.invoke(["run-operation", "pca_sparse_train", "--args", args], analyst)
        assert result.returncode == 0, result.stdout[-3000:]
        assert "ran on the sql backend" in result.stdout
        assert "only a superuser can create its functions; ask an administrator to run" in result.stdout

        refused = pca.invoke(["run-operation", "pca_sparse_train", "--args", args, "--vars", "{pca_backend: plpython}"], analyst)
        assert refused.returncode != 0
        assert "the PCA backend plpython cannot run here" in refused.stdout

        installed = pca.invoke(["run-operation", "install_pca_functions"], {**pca.env, "NETFLOW_PCA_SCHEMA": schema})
        assert installed.returncode == 0, installed.stdout[-3000:]
        result = pca.invoke(["run-operation", "pca_sparse_train", "--args", args], analyst)
        assert result.returncode == 0, result.stdout[-3000:]
        assert "ran on the plpython backend" in result.stdout
    finally:
        pca.db.execute(f'drop schema if exists "{schema}" cascade; drop owned by "{role}"; drop role if exists "{role}"')


def test_a_run_creates_no_functions_schema_only_the_administrator_does(pca: Project, session_id: str) -> None:
    schema = f"nfpca_test_{session_id}_functions"
    args = json.dumps({"source_table": "square", "out_table": "fit", "row_id": "r", "col_id": "c", "val_id": "v",
                       "row_dim": 20, "col_dim": 20, "components_param": 3})
    try:
        result = pca.dbt("run-operation", "pca_sparse_train", "--args", args, vars={"pca_functions_schema": schema})
        assert result.returncode != 0
        assert f"schema {schema} (the var pca_functions_schema) does not exist; ask an administrator" in result.stdout
        assert not pca.db.rows("select 1 from pg_namespace where nspname = %s", (schema,))

        installed = pca.dbt("run-operation", "install_pca_functions", vars={"pca_functions_schema": schema})
        assert installed.returncode == 0, installed.stdout[-3000:]
        result = pca.dbt("run-operation", "pca_sparse_train", "--args", args, vars={"pca_functions_schema": schema})
        assert result.returncode == 0, result.stdout[-3000:]
    finally:
        pca.db.execute(f'drop schema if exists "{schema}" cascade')


def test_install_drops_the_overloads_an_earlier_version_left_and_no_other(pca: Project, session_id: str) -> None:
    schema = f"nfpca_test_{session_id}_upgraded"
    pca.db.execute(
        f'create schema "{schema}";'
        f'create function "{schema}".pca_symmetric_eigenvalues(matrix integer) returns integer language sql as $$ select 1 $$;'
        f"comment on function \"{schema}\".pca_symmetric_eigenvalues(integer) is 'netflow_pca 0123456789abcdef';"
        f'create function "{schema}".pca_symmetric_eigenvectors(wanted integer) returns integer language sql as $$ select 2 $$;'
        f"comment on function \"{schema}\".pca_symmetric_eigenvectors(integer) is 'a function of our own'")
    try:
        installed = pca.dbt("run-operation", "install_pca_functions", vars={"pca_functions_schema": schema})
        assert installed.returncode == 0, installed.stdout[-3000:]
        overloads = pca.db.rows("select p.proname::text, pg_get_function_identity_arguments(p.oid) from pg_proc as p"
                                " join pg_namespace as n on n.oid = p.pronamespace where n.nspname = %s"
                                " and p.proname like 'pca_symmetric%%' order by 1, 2", (schema,))
        assert overloads == [
            ("pca_symmetric_eigenvalues", "matrix double precision[]"),
            ("pca_symmetric_eigenvectors", "reduced double precision[], eigenvalues double precision[], wanted integer"),
            ("pca_symmetric_eigenvectors", "wanted integer"),
        ]
    finally:
        pca.db.execute(f'drop schema if exists "{schema}" cascade')


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_near_tie_of_opposite_signs_is_signed_by_the_first_entry(pca: Project, backend: str) -> None:
    skip_without_plpython(pca, backend)

    result = train(pca, backend, "tied", 6, 3, 1, grouped=False)

    assert result.returncode == 0, result.stdout[-3000:]
    [(_, component, _, _)] = fitted_groups(pca, grouped=False)[1][0]
    assert abs(component[1]) > abs(component[0]) > 0.7
    assert component[0] > 0 > component[1]
    assert_fit_matches(*fitted_groups(pca, grouped=False)[1], fit_pca(matrices(pca, "tied", 6, 3, grouped=False)[1], 1))


def test_signs_are_fixed_and_backends_agree_exactly_on_them(pca: Project) -> None:
    vectors = {}
    for backend in ["sql"] + (["plpython"] if plpython_usable(pca.db) else []):
        assert train(pca, backend, "wide", 12, 60, 0.9, grouped=True).returncode == 0
        vectors[backend] = pca.db.rows(f'select g, row_id, principal_components from "{pca.schema}".fit order by 1, 2')
        assert all(largest_entry_is_positive(np.asarray(vector)) for _, _, vector in vectors[backend])
    if len(vectors) == 2:
        for (g, k, a), (h, j, b) in zip(vectors["sql"], vectors["plpython"]):
            assert (g, k) == (h, j) and np.abs(np.asarray(a) - np.asarray(b)).max() < 1e-9


def test_sql_eigenvectors_of_close_and_repeated_eigenvalues_are_orthonormal(pca: Project) -> None:
    """Inverse iteration finds a vector per eigenvalue: close or equal ones (a cluster) must still
    give orthonormal eigenvectors, each with a residual at rounding level."""
    assert pca.dbt("run-operation", "install_pca_functions").returncode == 0
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(7, 7)))
    eigenvalues = np.array([9.0, 5.0, 5.0 + 1e-9, 5.0 - 1e-12, 1.0, 1.0, 0.0])
    matrix = q @ np.diag(eigenvalues) @ q.T
    [(values, reduced)] = pca.db.rows(
        f'select * from "{pca.schema}".pca_symmetric_eigenvalues(%s::double precision[])', (matrix.tolist(),))
    [(flat,)] = pca.db.rows(
        f'select "{pca.schema}".pca_symmetric_eigenvectors(%s::double precision[], %s::double precision[], 7)', (reduced, values))
    vectors = np.asarray(flat).reshape(7, 7)
    assert np.abs(np.asarray(values) - np.sort(eigenvalues)[::-1]).max() < 1e-13
    assert np.abs(vectors @ vectors.T - np.eye(7)).max() < 1e-13
    assert np.abs(matrix @ vectors.T - vectors.T * np.asarray(values)).max() < 1e-13
