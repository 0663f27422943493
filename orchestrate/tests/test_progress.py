"""The progress display, fed with events of the shape dbt 1.11 writes with --log-format json."""

from __future__ import annotations

from typing import Any

from orchestrate.run.progress import Progress


def event(name: str, level: str = "info", msg: str = "", **data: Any) -> dict[str, Any]:
    return {"info": {"name": name, "level": level, "msg": msg, "invocation_id": "inv-1"}, "data": data}


def node(name: str, resource_type: str, status: str = "started") -> dict[str, Any]:
    return {"node_name": name, "resource_type": resource_type, "node_status": status}


def test_models_are_listed_tests_counted_and_failures_explained() -> None:
    progress = Progress()
    shown: list[str] = []
    for item in [
        event("MainReportVersion", msg="Running with dbt=1.11.16"),
        event("LogStartLine", index=1, total=4, node_info=node("stg_flows__events", "model")),
        event("LogModelResult", index=1, total=4, status="CREATE VIEW", execution_time=0.25, node_info=node("stg_flows__events", "model", "success")),
        event("LogStartLine", index=2, total=4, node_info=node("not_null_user", "test")),
        event("LogTestResult", index=2, total=4, status="fail", node_info=node("not_null_user", "test", "fail")),
        event("LogTestResult", index=3, total=4, status="pass", node_info=node("a::buckets", "unit_test", "None")),
        event("SkippingDetails", index=4, total=4, resource_type="model", node_name="int_hourly_counts", node_info=node("int_hourly_counts", "model", "skipped")),
        event("RunResultFailure", "error", "Failure in test not_null_user (models/_models.yml)"),
        event("RunResultError", "error", "  Got 1 result, configured to fail if != 0"),
        event("MainStackTrace", "error", "Traceback (most recent call last): ..."),
        event("EndOfRunSummary", msg="Completed with 1 error", keyboard_interrupt=False),
    ]:
        shown += progress.feed(item)

    assert shown == [
        "  1/4 stg_flows__events success (0.2 s)",
        "  2/4 not_null_user FAIL",
        "  Failure in test not_null_user (models/_models.yml)",
        "    Got 1 result, configured to fail if != 0",
    ]
    assert progress.invocation_id == "inv-1"
    assert not progress.keyboard_interrupt
    assert progress.summary() == "1 model, 1 test ok; 1 test failed; 1 skipped"
    assert progress.cause == "Failure in test not_null_user (models/_models.yml)"


def test_status_line_shows_the_running_node() -> None:
    progress = Progress()
    assert progress.status_line() == ""
    progress.feed(event("LogStartLine", index=7, total=33, node_info=node("int_pca_input", "model")))
    assert progress.status_line() == "  0/33 done, running int_pca_input"


def test_keyboard_interrupt_and_dbt_errors_are_noticed() -> None:
    progress = Progress()
    assert progress.feed(event("MainEncounteredError", "error", "Encountered an error:\n", exc="")) == []
    shown = progress.feed(
        event("MainEncounteredError", "error", exc="Compilation Error\n  Invalid var hour_id: expected an hour, got 99")
    )
    assert shown == ["  dbt: Compilation Error", "  dbt:   Invalid var hour_id: expected an hour, got 99"]
    progress.feed(event("EndOfRunSummary", keyboard_interrupt=True))
    assert progress.keyboard_interrupt
    assert progress.summary() == "nothing ran"


def test_the_cause_of_a_failure_is_kept_without_dbt_call_stack() -> None:
    progress = Progress()
    shown = progress.feed(event("MainEncounteredError", "error", exc=(
        "Compilation Error in operation netflow_pca-on-run-start-0 (./dbt_project.yml)\n"
        "  The events table \"test\".\"s\".\"nope\" does not exist: check the vars events_schema and events_table\n"
        "  \n  > in macro events_column (macros/staging/events_column.sql)\n"
        "  > called by macro validate_run_vars (macros/vars/validate_run_vars.sql)"
    )))
    assert shown == [
        "  dbt: Compilation Error in operation netflow_pca-on-run-start-0 (./dbt_project.yml)",
        '  dbt:   The events table "test"."s"."nope" does not exist: check the vars events_schema and events_table',
    ]
    assert progress.cause == 'The events table "test"."s"."nope" does not exist: check the vars events_schema and events_table'
    progress.feed(event("RunResultError", "error", "  Database Error in model int_pca_input (models/intermediate/int_pca_input.sql)\n"
                        "  the window holds no data\n  compiled code at target/run/x.sql"))
    assert progress.cause.startswith("The events table")
    fresh = Progress()
    assert fresh.feed(event("RunResultError", "error", "Database Error in model int_pca_input (models/x.sql)\n"
                            "  the window 2024-01-01 to 2024-03-31 holds no data; the data spans 2017-01-01 to 2017-01-14\n"
                            "  compiled code at target/run/x.sql")) == [
        "  Database Error in model int_pca_input (models/x.sql)",
        "    the window 2024-01-01 to 2024-03-31 holds no data; the data spans 2017-01-01 to 2017-01-14",
    ]
    assert fresh.cause == "the window 2024-01-01 to 2024-03-31 holds no data; the data spans 2017-01-01 to 2017-01-14"


def test_a_data_test_that_finds_a_var_wrong_is_a_bad_var() -> None:
    """A window that run_date leaves empty stops the run in a data test; its message names the
    var, so the run is refused (a retry would replay it), not failed."""
    progress = Progress()
    progress.feed(event("RunResultFailure", "error",
                        "\x1b[31mFailure in test analysis_window_holds_data_int_analysis_window_ (models/x.yml)\x1b[0m"))
    assert progress.cause == "Failure in test analysis_window_holds_data_int_analysis_window_ (models/x.yml)"
    progress.feed(event("RunResultError", "error",
                        "  Compilation Error in test analysis_window_holds_data_int_analysis_window_ (models/x.yml)\n"
                        "  Invalid var run_date: the window of 90 days up to 2100-01-01 (2099-10-04 to 2100-01-01) holds no events"))
    assert progress.cause == "Invalid var run_date: the window of 90 days up to 2100-01-01 (2099-10-04 to 2100-01-01) holds no events"
    progress.feed(event("RunResultFailure", "error", "Failure in test not_null_x_y (models/x.yml)"))
    progress.feed(event("RunResultError", "error", "  Invalid var other: a later failure's message"))
    assert progress.cause.startswith("Invalid var run_date")
    failed_first = Progress()
    failed_first.feed(event("RunResultFailure", "error", "Failure in test not_null_x_y (models/x.yml)"))
    failed_first.feed(event("RunResultError", "error", "  Got 1 result, configured to fail if != 0"))
    failed_first.feed(event("RunResultFailure", "error", "Failure in test analysis_window_holds_data_x (models/x.yml)"))
    failed_first.feed(event("RunResultError", "error", "  Invalid var run_date: a later test's message"))
    assert failed_first.cause == "Failure in test not_null_x_y (models/x.yml)"


def test_the_project_warnings_are_shown() -> None:
    progress = Progress()
    shown = progress.feed(event("JinjaLogWarning", "warn", "netflow_pca: 2 events after the window's last day, from 2020-06-01 to 2030-01-01, are left out"))
    assert shown == ["  warning: netflow_pca: 2 events after the window's last day, from 2020-06-01 to 2030-01-01, are left out"]
    assert progress.cause is None
