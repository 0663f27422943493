"""The record of a run and the decisions that resume it, without dbt or a database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrate.run.plan import Plan, Resume, RunRecord, Status, Step, merge_results, resume_action, step_status


def results(invocation_id: str, **statuses: str) -> dict[str, Any]:
    return {
        "metadata": {"invocation_id": invocation_id},
        "args": {"which": "build"},
        "results": [{"unique_id": unique_id, "status": status} for unique_id, status in statuses.items()],
    }


@pytest.mark.parametrize(
    ("exit_code", "interrupted", "recorded", "status"),
    [
        (0, False, True, Status.SUCCEEDED),
        (0, True, True, Status.SUCCEEDED),
        (1, False, True, Status.FAILED),
        (2, False, True, Status.FAILED),
        (2, True, True, Status.INCOMPLETE),
        (2, False, False, Status.INCOMPLETE),
        (-15, False, False, Status.INCOMPLETE),
    ],
)
def test_step_status(exit_code: int, interrupted: bool, recorded: bool, status: Status) -> None:
    assert step_status(exit_code, interrupted, recorded) is status


@pytest.mark.parametrize(
    ("status", "has_results", "action"),
    [
        (Status.PENDING, False, Resume.BUILD),
        (Status.FAILED, True, Resume.RETRY),
        (Status.INCOMPLETE, True, Resume.BUILD_REMAINING),
        # nothing recorded (stopped while parsing, or connection refused): build it all again
        (Status.FAILED, False, Resume.BUILD),
        (Status.INCOMPLETE, False, Resume.BUILD),
    ],
)
def test_resume_action(status: Status, has_results: bool, action: Resume) -> None:
    assert resume_action(Step(hour=1, vars={}, seeds=False, status=status), has_results) is action


def test_unfinished_steps_start_at_the_first_that_did_not_succeed() -> None:
    steps = [Step(hour=h, vars={}, seeds=False, status=s) for h, s in enumerate([Status.SUCCEEDED, Status.FAILED, Status.PENDING])]
    assert Plan(steps=tuple(steps)).unfinished() == [1, 2]
    assert Plan(steps=tuple(steps[:1])).unfinished() == []


def test_merged_results_keep_each_nodes_latest_result_and_the_latest_args() -> None:
    interrupted = results("first", a="success", b="success")
    resumed = results("second", b="error", c="skipped")
    merged = merge_results(interrupted, resumed)
    assert merged["metadata"]["invocation_id"] == "second"
    assert {r["unique_id"]: r["status"] for r in merged["results"]} == {"a": "success", "b": "error", "c": "skipped"}
    assert merge_results(None, resumed) == resumed


def test_record_round_trip_and_attempts(tmp_path: Path) -> None:
    record = RunRecord(tmp_path / "netflow_pca")
    plan = Plan(steps=(Step(hour=3, vars={"hour_id": 3, "run_date": "2017-01-14"}, seeds=True),), target="ci", threads=2)
    record.start(plan)
    assert record.load() == plan
    assert not record.has_results(0)

    record.record_attempt(0, 1, results("first", a="success"))
    record.record_attempt(0, 2, results("second", b="fail"))
    assert record.has_results(0)
    merged = json.loads((record.step_dir(0) / "run_results.json").read_text())
    assert {r["unique_id"] for r in merged["results"]} == {"a", "b"}
    assert json.loads((record.step_dir(0) / "attempt-1.json").read_text()) == results("first", a="success")

    done = plan.with_step(0, Step(hour=3, vars=plan.steps[0].vars, seeds=True, status=Status.SUCCEEDED, attempts=2))
    record.save(done)
    assert record.load() == done
    record.start(plan)
    assert not record.has_results(0)
