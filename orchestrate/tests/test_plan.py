"""The record of runs and the decisions that resume them, without dbt or a database."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from orchestrate.run.plan import (
    Plan,
    Resume,
    RunHistory,
    RunRecord,
    Status,
    Step,
    choose_retry,
    describe_runs,
    is_bad_var,
    mark_superseded,
    merge_results,
    new_run_id,
    parse_to_reuse,
    resume_action,
    runs_to_prune,
    step_status,
)

HERE = "target= PGHOST=db NETFLOW_PCA_SCHEMA=netflow_pca"


def results(invocation_id: str, **statuses: str) -> dict[str, Any]:
    return {
        "metadata": {"invocation_id": invocation_id},
        "args": {"which": "build"},
        "results": [{"unique_id": unique_id, "status": status} for unique_id, status in statuses.items()],
    }


def run(run_id: str, minute: int, *steps: tuple[int | None, Status], destination: str = HERE, reason: str | None = None) -> Plan:
    """A recorded run started at 14:<minute> with one step per (hour, status)."""
    return Plan(
        run_id=run_id,
        started_at=f"2026-12-04T14:{minute:02d}:00.000000+00:00",
        destination=destination,
        steps=tuple(Step(hour=hour, vars={}, seeds=False, status=status,
                         reason=reason if status is Status.REFUSED else None) for hour, status in steps),
    )


@pytest.mark.parametrize(
    ("exit_code", "interrupted", "recorded", "refused", "status"),
    [
        (0, False, True, False, Status.SUCCEEDED),
        (0, True, True, False, Status.SUCCEEDED),
        (1, False, True, False, Status.FAILED),
        (2, False, True, False, Status.FAILED),
        (2, True, True, False, Status.INCOMPLETE),
        (2, False, False, False, Status.INCOMPLETE),
        (-15, False, False, False, Status.INCOMPLETE),
        (2, False, False, True, Status.REFUSED),
        (1, False, True, True, Status.REFUSED),
        (130, True, False, True, Status.INCOMPLETE),
    ],
)
def test_step_status(exit_code: int, interrupted: bool, recorded: bool, refused: bool, status: Status) -> None:
    assert step_status(exit_code, interrupted, recorded, refused) is status


def test_a_bad_var_is_told_from_other_causes() -> None:
    assert is_bad_var("Invalid var lookback_days: expected an integer from 1 to 36600, got 100000")
    assert not is_bad_var("could not connect to server: Connection refused")
    assert not is_bad_var("Failure in test not_null_stg_flows__events_user_name (models/staging/flows/_flows__models.yml)")
    assert not is_bad_var(None)


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


def test_unfinished_steps_start_at_the_first_that_is_not_done() -> None:
    plan = run("a", 0, (0, Status.SUCCEEDED), (1, Status.FAILED), (2, Status.SUPERSEDED), (3, Status.PENDING))
    assert plan.unfinished() == [1, 3]
    assert run("b", 0, (0, Status.SUCCEEDED), (1, Status.SUPERSEDED)).unfinished() == []


def test_run_ids_sort_by_start_and_differ() -> None:
    started = datetime(2026, 12, 4, 14, 42, 0, tzinfo=timezone.utc)
    first, second = new_run_id(started), new_run_id(started)
    assert first.startswith("20261204T144200Z-") and first != second
    assert new_run_id(started.replace(minute=43)) > max(first, second)


def test_a_later_run_of_the_same_hours_supersedes_an_unfinished_step() -> None:
    old = run("old", 0, (5, Status.SUCCEEDED), (6, Status.FAILED), (7, Status.PENDING))
    later_six = run("later", 1, (6, Status.FAILED))
    marked = mark_superseded(old, [old, later_six])
    assert [step.status for step in marked.steps] == [Status.SUCCEEDED, Status.SUPERSEDED, Status.PENDING]
    assert marked.steps[1].reason == "later"
    # all hours cover hour 7; a run started before, or writing elsewhere, does not count
    assert mark_superseded(old, [run("all", 2, (None, Status.SUCCEEDED))]).unfinished() == []
    assert mark_superseded(old, [run("earlier", 0, (6, Status.SUCCEEDED))]) == old
    assert mark_superseded(old, [run("elsewhere", 3, (6, Status.SUCCEEDED), destination="target=ci")]) == old
    # a later run of one hour leaves an unfinished run of all hours as it is
    everything = run("everything", 0, (None, Status.FAILED))
    assert mark_superseded(everything, [run("one", 1, (5, Status.SUCCEEDED))]) == everything


def test_retry_resumes_the_run_that_failed_although_another_started_since() -> None:
    hour_5 = run("five", 0, (5, Status.FAILED))
    hour_6 = run("six", 1, (6, Status.SUCCEEDED))
    choice = choose_retry([hour_5, hour_6], running=[])
    assert choice.plan == hour_5 and choice.others == ()


def test_retry_resumes_the_latest_of_several_unfinished_runs_and_names_the_others() -> None:
    plans = [run("five", 0, (5, Status.FAILED)), run("six", 1, (6, Status.INCOMPLETE)), run("seven", 2, (7, Status.FAILED))]
    choice = choose_retry([*plans, run("eight", 3, (8, Status.REFUSED))], running=["seven"])
    assert choice.plan is not None and choice.plan.run_id == "six"
    assert [plan.run_id for plan in choice.others] == ["five"]
    assert [(plan.run_id, why) for plan, why in choice.passed_over] == [
        ("seven", "is still running"), ("eight", "stopped on a bad var (a retry would replay it)"),
    ]
    named = choose_retry(plans, running=["seven"], named="five")
    assert named.plan is not None and named.plan.run_id == "five"
    assert [plan.run_id for plan in named.others] == ["six"]


def test_retry_skips_runs_stopped_by_a_bad_var_and_says_so() -> None:
    refused = run("bad", 1, (5, Status.REFUSED), reason="Invalid var lookback_days: expected an integer")
    choice = choose_retry([run("ok", 0, (4, Status.SUCCEEDED)), refused], running=[])
    assert choice.plan is None
    assert "stopped on a bad var, which a retry would replay (Invalid var lookback_days" in choice.reason
    with pytest.raises(LookupError, match="a retry would replay: Invalid var lookback_days.*start a new run"):
        choose_retry([refused], running=[], named="bad")


def test_retry_has_nothing_to_do_after_a_finished_or_taken_over_run() -> None:
    finished = choose_retry([run("done", 0, (None, Status.SUCCEEDED))], running=[])
    assert finished.plan is None and finished.reason.startswith("the last run done (all hours; started 2026-12-04 14:00:00 UTC) finished")
    plans = [run("old", 0, (5, Status.FAILED)), run("new", 1, (5, Status.SUCCEEDED))]
    assert choose_retry(plans, running=[]).plan is None
    taken_over = choose_retry(plans, running=[], named="old")
    assert taken_over.plan is None and "was built since by run new" in taken_over.reason
    running = choose_retry([run("busy", 0, (5, Status.PENDING))], running=["busy"])
    assert running.plan is None and "is still running" in running.reason


def test_a_named_run_that_is_unknown_or_running_is_refused() -> None:
    plans = [run("busy", 0, (5, Status.PENDING))]
    with pytest.raises(LookupError, match="no run nosuch is recorded"):
        choose_retry(plans, running=[], named="nosuch")
    with pytest.raises(LookupError, match="is still running: wait for it to end"):
        choose_retry(plans, running=["busy"], named="busy")


def test_the_record_keeps_the_latest_runs_and_those_a_retry_can_resume() -> None:
    plans = [run(f"done{minute:02d}", minute, (1, Status.SUCCEEDED)) for minute in range(12)]
    plans += [
        run("failed", 12, (2, Status.FAILED)),
        run("refused", 13, (3, Status.REFUSED)),
        run("taken", 14, (4, Status.FAILED)),
        run("taker", 15, (4, Status.FAILED)),
        run("busy", 16, (5, Status.PENDING)),
    ]
    plans = [*plans[-5:], *plans[:-5]]
    assert set(runs_to_prune(plans, running=[], keep=2)) == {f"done{minute:02d}" for minute in range(12)} | {"refused", "taken"}
    assert set(runs_to_prune(plans, running=["busy", "done00"], keep=10)) == {f"done{minute:02d}" for minute in range(1, 7)}


def test_the_list_of_runs_marks_the_one_retry_resumes() -> None:
    plans = [
        run("five", 0, (5, Status.FAILED)),
        run("six", 1, (6, Status.SUCCEEDED), (7, Status.FAILED)),
        run("seven", 2, (7, Status.REFUSED), reason="Invalid var timezone: expected a time zone"),
        run("eight", 3, (8, Status.PENDING)),
    ]
    lines = describe_runs(plans, running=["eight"]).splitlines()
    assert lines == [
        "eight  2026-12-04 14:03:00 UTC  hour 8: running",
        "seven  2026-12-04 14:02:00 UTC  hour 7: refused (Invalid var timezone: expected a time zone)",
        "six  2026-12-04 14:01:00 UTC  hours 6, 7: done; taken over by run seven",
        "five  2026-12-04 14:00:00 UTC  hour 5: failed at hour 5  <- `netflow-pca retry` resumes this",
    ]


def test_merged_results_keep_each_nodes_latest_result_and_the_latest_args() -> None:
    interrupted = results("first", a="success", b="success")
    resumed = results("second", b="error", c="skipped")
    merged = merge_results(interrupted, resumed)
    assert merged["metadata"]["invocation_id"] == "second"
    assert {r["unique_id"]: r["status"] for r in merged["results"]} == {"a": "success", "b": "error", "c": "skipped"}
    assert merge_results(None, resumed) == resumed


def test_record_round_trip_and_attempts(tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "netflow_pca")
    plan = Plan(run_id="r1", started_at="2026-12-04T14:00:00.000000+00:00", destination=HERE,
                steps=(Step(hour=3, vars={"hour_id": 3, "run_date": "2017-01-14"}, seeds=True),), target="ci", threads=2)
    record = history.record("r1")
    record.save(plan)
    assert record.load() == plan and history.plans() == [plan]
    assert record.target_dir == tmp_path / "netflow_pca" / "runs" / "r1" / "target"
    assert not record.has_results(0)

    record.record_attempt(0, 1, results("first", a="success"))
    record.record_attempt(0, 2, results("second", b="fail"))
    assert record.has_results(0)
    merged = json.loads((record.step_dir(0) / "run_results.json").read_text())
    assert {r["unique_id"] for r in merged["results"]} == {"a", "b"}
    assert json.loads((record.step_dir(0) / "attempt-1.json").read_text()) == results("first", a="success")

    done = plan.with_step(0, Step(hour=3, vars=plan.steps[0].vars, seeds=True, status=Status.SUCCEEDED, attempts=2))
    record.save(done)
    assert RunRecord(record.directory).load() == done


HOLD_LOCK = """
import sys, time
from pathlib import Path
from orchestrate.run.plan import RunRecord
with RunRecord(Path(sys.argv[1])).lock():
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_run_held_by_another_process_is_running_and_never_pruned(tmp_path: Path) -> None:
    history = RunHistory(tmp_path)
    for minute in range(13):
        history.record(f"r{minute:02d}").save(run(f"r{minute:02d}", minute, (1, Status.SUCCEEDED)))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(history.record("r00").directory)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert history.record("r00").is_running() and not history.record("r01").is_running()
        history.prune()
        assert sorted(plan.run_id for plan in history.plans()) == ["r00", *(f"r{minute:02d}" for minute in range(3, 13))]
    finally:
        holder.kill()
        holder.wait()
    assert not history.record("r00").is_running()
    history.prune()
    assert len(history.plans()) == 10


def with_vars(plan: Plan, **vars: Any) -> Plan:
    return replace(plan, steps=tuple(replace(step, vars=dict(vars), attempts=step.attempts or int(step.status is not Status.PENDING)) for step in plan.steps))


def test_a_new_run_starts_from_the_saved_parse_of_the_latest_run_with_its_vars() -> None:
    new = with_vars(run("new", 30, (5, Status.PENDING)), hour_id=5)
    same_vars = with_vars(run("same", 10, (5, Status.SUCCEEDED)), hour_id=5)
    later_other_vars = with_vars(run("other", 20, (6, Status.FAILED)), hour_id=6)
    never_ran = run("pending", 25, (5, Status.PENDING))
    elsewhere = with_vars(run("elsewhere", 28, (5, Status.SUCCEEDED), destination="target= PGHOST=other"), hour_id=5)

    assert parse_to_reuse([same_vars, later_other_vars, never_ran, elsewhere, new], set(), new) == "same"
    # without a run of the same vars, the latest; never a running one, whose files may be half written
    assert parse_to_reuse([later_other_vars, new], set(), new) == "other"
    assert parse_to_reuse([same_vars, later_other_vars, new], {"same", "other"}, new) is None
    assert parse_to_reuse([new], set(), new) is None


def test_seed_parse_copies_the_saved_parse_into_the_new_run(tmp_path: Path) -> None:
    history = RunHistory(tmp_path)
    earlier = with_vars(run("earlier", 10, (None, Status.SUCCEEDED)))
    new = with_vars(run("new", 20, (None, Status.PENDING)))
    history.record("earlier").save(earlier)
    history.record("earlier").target_dir.mkdir(parents=True)
    (history.record("earlier").target_dir / "partial_parse.msgpack").write_bytes(b"parsed")
    history.record("new").save(new)

    history.seed_parse(history.record("new"), new)

    assert (history.record("new").target_dir / "partial_parse.msgpack").read_bytes() == b"parsed"
    assert not (history.record("new").target_dir / "manifest.json").exists()
    assert sorted(path.name for path in history.record("new").target_dir.iterdir()) == ["partial_parse.msgpack"]
