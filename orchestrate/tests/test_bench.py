"""`netflow-pca bench pca` and `bench e2e`: reports, stages and options without a database, and one tiny run of each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrate.lab.bench import e2e, measure, pca
from orchestrate.lab.bench.command import build_parser
from orchestrate.tests.conftest import Database


def test_report_gives_each_time_as_a_multiple_of_the_floor() -> None:
    report = measure.format_report(
        [measure.Measurement("floor", 2.0), measure.Measurement("pca_sparse_train sql", 5.0, 3 * 2**20, "10 components"),
         measure.Measurement("pca_sparse_train madlib", None, note="cannot run here")],
        floor_seconds=2.0,
    )
    lines = report.splitlines()
    assert lines[0].split() == ["step", "seconds", "x", "floor", "peak", "server", "memory", "note"]
    assert lines[3].split() == ["pca_sparse_train", "sql", "5.0", "2.50", "3", "MB", "10", "components"]
    assert lines[4].split() == ["pca_sparse_train", "madlib", "cannot", "run", "here"]


def test_bench_options_are_checked() -> None:
    args = build_parser().parse_args(["pca", "--hours", "2", "--density", "0.5", "--backends", "sql,plpython"])
    assert (args.hours, args.density, args.backends) == (2, 0.5, ("sql", "plpython"))
    for bad in (["--density", "1.5"], ["--backends", "spark"], ["--schema", "x; drop table y"], ["--users", "0"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["pca", *bad])


def test_a_tiny_bench_times_the_floor_numpy_and_a_backend(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = f"nfpca_test_{session_id}_bench"
    env = {**server_env, "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs")}
    options = pca.BenchOptions(hours=2, days=6, users=40, density=0.5, backends=("sql",), schema=schema)
    try:
        assert pca.run_bench(env, options) == 0
    finally:
        db.execute(f"drop schema if exists {schema} cascade")
    report = capsys.readouterr().out
    assert "floor: one group-by pass" in report and "numpy, Gram route" in report
    [sql] = [line for line in report.splitlines() if line.startswith("pca_sparse_train sql")]
    assert "components in 2 hours" in sql
    assert not db.relation_exists(schema, "pca_input")


def _node(resource_type: str, name: str, parents: list[str]) -> dict[str, Any]:
    return {"resource_type": resource_type, "name": name, "depends_on": {"nodes": parents}}


def test_e2e_stages_follow_the_lineage_around_the_sparse_input() -> None:
    model = "model.netflow_pca."
    nodes = {
        f"{model}stg_flows__events": _node("model", "stg_flows__events", []),
        f"{model}int_hourly_counts": _node("model", "int_hourly_counts", [f"{model}stg_flows__events"]),
        f"{model}int_pca_input": _node("model", "int_pca_input", [f"{model}int_hourly_counts"]),
        f"{model}pca_components": _node("model", "pca_components", [f"{model}int_pca_input"]),
        f"{model}int_residual_pca_input": _node("model", "int_residual_pca_input", [f"{model}int_pca_input"]),
        f"{model}int_residual_scores": _node("model", "int_residual_scores", [f"{model}int_hourly_counts"]),
        f"{model}user_outlier_scores": _node("model", "user_outlier_scores", [f"{model}pca_components", f"{model}int_residual_scores"]),
        "test.netflow_pca.cells_match": _node("test", "cells_match", [f"{model}int_hourly_counts", f"{model}int_pca_input"]),
        "test.netflow_pca.not_null_scores": _node("test", "not_null_scores", [f"{model}user_outlier_scores"]),
    }
    children: dict[str, list[str]] = {uid: [] for uid in nodes}
    for uid, node in nodes.items():
        for parent in node["depends_on"]["nodes"]:
            children[parent].append(uid)
    unit_tests = {"unit_test.netflow_pca.int_hourly_counts.buckets": _node("unit_test", "buckets", [f"{model}int_hourly_counts"])}
    stages = e2e.node_stages({"nodes": nodes, "child_map": children, "unit_tests": unit_tests})
    assert {uid.split(".")[-1]: stage for uid, stage in stages.items()} == {
        "stg_flows__events": "counts", "int_hourly_counts": "counts", "buckets": "counts",
        "int_pca_input": "sparse input", "cells_match": "sparse input",
        "pca_components": "PCA",
        "int_residual_pca_input": "scoring", "int_residual_scores": "scoring", "user_outlier_scores": "scoring",
        "not_null_scores": "scoring",
    }
    results = {"results": [
        {"unique_id": f"{model}int_hourly_counts", "execution_time": 2.0},
        {"unique_id": "unit_test.netflow_pca.int_hourly_counts.buckets", "execution_time": 0.5},
        {"unique_id": "test.netflow_pca.not_null_scores", "execution_time": 1.0},
        {"unique_id": "operation.netflow_pca.netflow_pca-on-run-start-0", "execution_time": 9.0},
    ]}
    assert e2e.stage_times(results, stages) == {
        "counts": (2.0, 0.5), "sparse input": (0.0, 0.0), "PCA": (0.0, 0.0), "scoring": (0.0, 1.0),
    }


def test_e2e_ratios_say_which_targets_are_met() -> None:
    lines = e2e.ratio_lines("plpython", full=30.0, floor=10.0, numpy=10.0, incremental=6.0)
    assert lines == [
        "plpython: dbt build / floor: 3.0 x (target at most 3 x: met)",
        "plpython: dbt build / numpy route: 3.00 x (target at most 2 x: NOT met)",
        "plpython: incremental / full build: 20% (target at most 15%: NOT met)",
    ]
    assert e2e.ratio_lines("sql", full=90.0, floor=10.0, numpy=10.0) == [
        "sql: dbt build / floor: 9.0 x (target at most 8 x: NOT met)",
    ]


def test_e2e_floor_is_the_median_of_the_group_by_timings_with_each_in_the_note() -> None:
    before, after_builds, after_routes = e2e.FLOOR_TIMINGS
    group_by = e2e.floor_group_by({
        before: e2e.GroupByTiming(14.4, 120 * 2**20, 5_771_048),
        after_builds: e2e.GroupByTiming(12.3, None, 5_771_048),
        after_routes: e2e.GroupByTiming(13.1, 125 * 2**20, 5_771_048),
    })
    assert (group_by.seconds, group_by.peak_bytes) == (13.1, 125 * 2**20)
    assert group_by.note == ("5,771,048 cells; the median of 14.4 s before the builds, 12.3 s after them, "
                             "13.1 s after the routes")


def test_e2e_options_are_checked() -> None:
    args = build_parser().parse_args(["e2e", "--events", "1000", "--recount-days", "2", "--threads", "2"])
    assert (args.bench, args.events, args.recount_days, args.threads, args.backend) == ("e2e", 1000, 2, 2, "plpython")
    assert build_parser().parse_args(["e2e", "--backend", "both"]).backend == "both"
    for bad in (["--events", "0"], ["--recount-days", "-1"], ["--schema", "Bad"], ["--backend", "madlib"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["e2e", *bad])


def test_a_tiny_e2e_bench_times_every_route_and_prints_the_ratios(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = f"nfpca_test_{session_id}_e2e"
    env = {**server_env, "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs")}
    options = e2e.E2eOptions(events=20_000, users=40, days=10, schema=schema)
    try:
        assert e2e.run_e2e(env, options) == 0
    finally:
        db.execute(f"drop schema if exists {schema} cascade")
    report = capsys.readouterr().out
    for step in ("floor: group by user, day, hour", "dbt build, all hours (full)", "numpy route (residual, like for like)",
                 "pandas + scikit-learn route",
                 "dbt build, one new day (recount_days 1)", "  sparse input"):
        assert step in report
    assert "plpython: dbt build / floor:" in report and "plpython: dbt build / numpy route:" in report
    assert "incremental / full build:" in report
    assert not db.relation_exists(schema, "events")
