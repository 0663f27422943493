"""`netflow-pca bench scoring`: the real command on a tiny generated data set."""

from __future__ import annotations

import re

from orchestrate.tests.conftest import Database, run_cli


def test_bench_scoring_prints_recall_and_precision_of_both_methods(
    db: Database, server_env: dict[str, str], session_id: str
) -> None:
    schema = f"nfpca_test_{session_id}_scoring_bench"
    try:
        result = run_cli(server_env, "bench", "scoring", "--preset", "tiny", "--schema", schema)
    finally:
        db.execute(f'drop schema if exists "{schema}" cascade')
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    figures = {
        match.group(1): (float(match.group(2)), float(match.group(3)))
        for match in re.finditer(r"^(residual|loading): recall ([0-9.]+), precision ([0-9.]+)", result.stdout, re.M)
    }
    assert figures.keys() == {"residual", "loading"}
    # the four injected bursts of the tiny preset are found by the default method
    assert figures["residual"][0] == 1.0
    assert not db.relation_exists(schema, "anomalous_users")


def test_bench_scoring_refuses_a_bad_data_set(server_env: dict[str, str]) -> None:
    result = run_cli(server_env, "bench", "scoring", "--users", "0")
    assert result.returncode == 2
    assert "bad data set: users and days must be at least 1" in result.stderr
