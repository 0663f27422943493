"""`netflow-pca bench pca`: its report and options without a database, and one tiny run."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate import bench
from orchestrate.cli import build_parser
from orchestrate.tests.conftest import Database


def test_report_gives_each_time_as_a_multiple_of_the_floor() -> None:
    report = bench.format_report(
        [bench.Measurement("floor", 2.0), bench.Measurement("pca_sparse_train sql", 5.0, 3 * 2**20, "10 components"),
         bench.Measurement("pca_sparse_train madlib", None, note="cannot run here")],
        floor_seconds=2.0,
    )
    lines = report.splitlines()
    assert lines[0].split() == ["step", "seconds", "x", "floor", "peak", "server", "memory", "note"]
    assert lines[3].split() == ["pca_sparse_train", "sql", "5.0", "2.50", "3", "MB", "10", "components"]
    assert lines[4].split() == ["pca_sparse_train", "madlib", "cannot", "run", "here"]


def test_bench_options_are_checked() -> None:
    args = build_parser().parse_args(["bench", "pca", "--hours", "2", "--density", "0.5", "--backends", "sql,plpython"])
    assert (args.hours, args.density, args.backends) == (2, 0.5, ("sql", "plpython"))
    for bad in (["--density", "1.5"], ["--backends", "spark"], ["--schema", "x; drop table y"], ["--users", "0"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["bench", "pca", *bad])


def test_a_tiny_bench_times_the_floor_numpy_and_a_backend(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = f"nfpca_test_{session_id}_bench"
    env = {**server_env, "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs")}
    options = bench.BenchOptions(hours=2, days=6, users=40, density=0.5, backends=("sql",), schema=schema)
    try:
        assert bench.run_bench(env, options) == 0
    finally:
        db.execute(f"drop schema if exists {schema} cascade")
    report = capsys.readouterr().out
    assert "floor: one group-by pass" in report and "numpy, Gram route" in report
    [sql] = [line for line in report.splitlines() if line.startswith("pca_sparse_train sql")]
    assert "components in 2 hours" in sql
    assert not db.relation_exists(schema, "pca_input")
