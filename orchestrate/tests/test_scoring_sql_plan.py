"""The SQL plan of the residual method (docs/scoring_plan.sql) gives the numpy reference's
numbers on real PostgreSQL, with the PCA step done by the reference in MADlib's output layout."""

from __future__ import annotations

import io
from dataclasses import asdict, replace

import numpy as np
import pytest

from orchestrate import flowgen
from orchestrate.evaluate import cells_from_csv, cells_from_plan
from orchestrate.runner import PROJECT_DIR
from orchestrate.sample_data import DEFAULT_PATH as SAMPLE_CSV
from orchestrate.scoring_reference import ResidualParams, fit_pca, hour_matrices, residual_fit
from orchestrate.tests.conftest import Database

PLAN = (PROJECT_DIR / "docs" / "scoring_plan.sql").read_text()


def run_plan(db: Database, schema: str, cells: list[tuple], params: ResidualParams) -> dict[tuple[int, str], tuple]:
    """Load the cells as int_pca_input, run both steps with a reference PCA between them, and
    return the scores by (hour, user)."""
    names = {key: f'"{schema}".{key}' for key in ("input", "cells", "pca", "scores")}
    code = "\n".join(line for line in PLAN.splitlines() if not line.lstrip().startswith("--"))
    step1, step2 = (step.format(**names) for step in code.split("\n;\n"))
    values = {**asdict(params)}
    with db.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f'create schema "{schema}"')
        cursor.execute("create temporary table raw (hour_of_day int, day date, user_name text, flow_count bigint)")
        cursor.copy_expert("copy raw from stdin", io.StringIO("".join(f"{h}\t{d}\t{u}\t{c}\n" for h, d, u, c in cells)))
        cursor.execute(f"""
            create table {names['input']} as select hour_of_day,
                cast(dense_rank() over (partition by hour_of_day order by day) as integer) as day_id,
                cast(dense_rank() over (partition by hour_of_day order by user_name collate "C") as integer) as name_id,
                user_name, day, flow_count
            from raw""")
        cursor.execute(step1, values)
        cursor.execute(f"select hour_of_day, day_id, name_id, fit_value, n_days, n_users from {names['cells']}")
        by_hour: dict[int, list] = {}
        for row in cursor.fetchall():
            by_hour.setdefault(row[0], []).append(row[1:])
        cursor.execute(f"create table {names['pca']} (row_id int, principal_components float8[], std_dev float8, proportion float8, hour_of_day int)")
        cursor.execute(f"create table {names['pca']}_mean (column_mean float8[], hour_of_day int)")
        for hour, rows in by_hour.items():
            n, p = rows[0][3], rows[0][4]
            matrix = np.zeros((n, p))
            for day_id, name_id, value, *_ in rows:
                matrix[day_id - 1, name_id - 1] = value
            pca = fit_pca(matrix, min(params.max_components, max(n - 1, 1), p))
            for k in range(pca.std_dev.size):
                cursor.execute(
                    f"insert into {names['pca']} values (%s, %s, %s, %s, %s)",
                    (k + 1, pca.components[k].tolist(), float(pca.std_dev[k]), float(pca.proportion[k]), hour),
                )
            cursor.execute(f"insert into {names['pca']}_mean values (%s, %s)", (pca.column_mean.tolist(), hour))
        cursor.execute(step2, values)
        cursor.execute(f"select hour_of_day, user_name, score, is_outlier, evidence_day, flow_count, expected_flow_count, normal_components from {names['scores']}")
        return {(row[0], row[1]): row[2:] for row in cursor.fetchall()}


@pytest.mark.parametrize("data", ["sample", "generated"])
def test_sql_plan_matches_the_reference(db: Database, session_id: str, data: str) -> None:
    if data == "sample":
        cells = [(h, d, u, c) for h, d, u, c in cells_from_csv(SAMPLE_CSV)]
    else:
        cells = list(cells_from_plan(flowgen.plan(replace(flowgen.PRESETS["issue4"], users=120, days=28, seed=5))))
    params = ResidualParams()
    schema = f"nfpca_test_{session_id}_plan_{data}"
    try:
        sql = run_plan(db, schema, cells, params)
    finally:
        db.execute(f'drop schema if exists "{schema}" cascade')
    expected = {}
    for hour in hour_matrices(cells):
        fit = residual_fit(hour, params)
        masked = np.where(hour.nonzero, fit.evidence, -np.inf)
        best = masked.argmax(axis=0)
        for j, user in enumerate(hour.users):
            i = int(best[j])
            by_day = {day: (masked[d, j], fit.expected[d, j]) for d, day in enumerate(hour.days)}
            expected[(hour.hour, user)] = (masked[i, j], by_day, fit.normal)
    assert sql.keys() == expected.keys()
    for key, (score, by_day, normal) in expected.items():
        got_score, got_outlier, got_day, _, got_expected, got_normal = sql[key]
        assert got_score == pytest.approx(score, rel=1e-6, abs=1e-6), key
        assert got_normal == normal and got_outlier == (score > params.threshold), key
        # the day of the best evidence (days tied to rounding may come in either order)
        assert by_day[got_day][0] == pytest.approx(score, rel=1e-9, abs=1e-9), key
        assert got_expected == pytest.approx(by_day[got_day][1], rel=1e-6, abs=1e-6), key
