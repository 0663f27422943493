"""The Dagster definitions on the real dbt project: they load (in Python and with the `dagster`
command), a partition materialises its hour and the run's export and report with metadata, and a
failed run sends an e-mail to a real SMTP server on loopback."""

from __future__ import annotations

import importlib
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from dagster import DagsterInstance, Definitions, RunConfig, build_run_status_sensor_context, materialize

from orchestrate.partitions import HOURLY_OP, RANGE_END_TAG, RANGE_START_TAG, HourlyRunConfig
from orchestrate.tests.conftest import Database, InProcessDbt, Project, _project, assert_hour_rows_match, assert_refused_for_other_hours
from orchestrate.tests.models import HOURLY_MODELS, HOURLY_RESULT_MODEL

EVENTS_CONFIG = HourlyRunConfig(vars="{events_table: events}")


@pytest.fixture(scope="module")
def dagster_project(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt
) -> Iterator[tuple[Project, ModuleType]]:
    """The definitions module loaded on a project whose events table is a copy of the sample
    flows; dagster-dbt runs dbt with this process's environment, so it is set here. There is no
    manifest yet: loading the definitions makes it, as on a first `dagster dev`."""
    schema = f"nfpca_test_{session_id}_dagster"
    for project in _project(db, server_env, schema, tmp_path_factory.mktemp("dagster"), invoke_dbt):
        project.load_sample_events()
        with pytest.MonkeyPatch.context() as patch:
            for name, value in project.env.items():
                patch.setenv(name, value)
            definitions = importlib.import_module("orchestrate.definitions")
            assert definitions.PROJECT.manifest_path == project.target_dir / "dagster" / "manifest.json"
            yield project, definitions


def test_definitions_load(dagster_project: tuple[Project, ModuleType]) -> None:
    _, definitions = dagster_project
    Definitions.validate_loadable(definitions.defs)
    graph = definitions.defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"sample_flows", "stg_flows__events", "int_hourly_counts", "int_pca_input"} <= keys
    checks = {(check.asset_key.to_user_string(), check.name) for check in graph.asset_check_keys}
    assert ("stg_flows__events", "not_null_stg_flows__events_user_name") in checks
    assert ("int_pca_input", "pca_input_cells_match_hourly_counts") in checks
    assert definitions.defs.resolve_job_def("netflow_pca_hourly_job").partitions_def is not None
    assert definitions.defs.resolve_schedule_def("netflow_pca_daily").cron_schedule == "0 1 * * *"
    # no SMTP variable in this environment: no alerting sensor
    assert not list(definitions.defs.sensors or [])


def model_lineage(manifest_path: Path) -> dict[str, set[str]]:
    """Every model's ancestors: what must be built before it."""
    nodes = json.loads(manifest_path.read_text())["nodes"]
    parents = {key: set(node["depends_on"].get("nodes", [])) for key, node in nodes.items()}
    ancestors: dict[str, set[str]] = {}

    def of(key: str) -> set[str]:
        if key not in ancestors:
            ancestors[key] = set().union(*(({parent} | of(parent)) for parent in parents.get(key, ())))
        return ancestors[key]

    return {key: of(key) for key, node in nodes.items() if node["resource_type"] == "model"}


@pytest.mark.parametrize("vars", [{"hour_id": 12}, {"hour_id": 3, "scoring_method": "both", "pca_backend": "sql"}])
def test_the_lineage_is_the_same_whatever_the_vars(
    dagster_project: tuple[Project, ModuleType], tmp_path: Path, vars: dict[str, Any]
) -> None:
    """Dagster's asset graph comes from a parse without vars, and a run must yield its models in
    that graph's order: a model whose ancestors changed with the vars could run before an input."""
    project, definitions = dagster_project
    result = project.dbt("parse", "--target-path", str(tmp_path), vars=vars)
    assert result.returncode == 0, result.stdout[-3000:]
    assert model_lineage(tmp_path / "manifest.json") == model_lineage(definitions.PROJECT.manifest_path)


def test_dagster_command_validates_the_definitions(dagster_project: tuple[Project, ModuleType], tmp_path: Path) -> None:
    project, _ = dagster_project
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-m", "orchestrate.definitions"],
        env={**project.env, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All code locations passed validation" in result.stderr + result.stdout


def materialize_hours(definitions: ModuleType, **kwargs: Any) -> Any:
    """A run of the hourly models and the report on the events copy, as the UI launches one."""
    return materialize(
        [definitions.hourly_models, definitions.anomaly_report],
        resources=definitions.defs.resources,
        run_config=RunConfig(ops={HOURLY_OP: EVENTS_CONFIG}),
        instance=DagsterInstance.ephemeral(),
        **kwargs,
    )


def test_a_partition_on_a_schema_never_built_is_refused(dagster_project: tuple[Project, ModuleType]) -> None:
    """Partition 12 first: hour 12's residual scores would read the other hours, never built, so
    the run stops before any hour's rows are written and says to materialise all 24 first."""
    project, definitions = dagster_project

    result = materialize_hours(definitions, partition_key="12", raise_on_error=False)

    assert not result.success
    failures = [event.event_specific_data.error for event in result.all_events if event.is_step_failure]
    assert failures
    assert_refused_for_other_hours("\n".join(str(error) for error in failures), "0-11, 13-23", "never built")
    assert {model for model in HOURLY_MODELS if project.db.relation_exists(project.schema, model)} == set()


@pytest.fixture(scope="module")
def backfilled(dagster_project: tuple[Project, ModuleType]) -> tuple[Project, ModuleType]:
    """The project with all 24 partitions materialised in one run (a backfill, single run)."""
    _, definitions = dagster_project
    assert materialize_hours(definitions, tags={RANGE_START_TAG: "0", RANGE_END_TAG: "23"}).success
    return dagster_project


def test_partition_12_materialises_hour_12(backfilled: tuple[Project, ModuleType], built_project: Project) -> None:
    project, definitions = backfilled
    others_before = {model: project.hour_fingerprints(model) for model in project.hourly_models()}

    result = materialize_hours(definitions, partition_key="12")

    assert result.success
    materialized = {(m.asset_key.to_user_string(), m.partition) for m in result.asset_materializations_for_node(HOURLY_OP)}
    assert (HOURLY_RESULT_MODEL, "12") in materialized
    checks = result.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks)
    for model, before in others_before.items():
        after = project.hour_fingerprints(model)
        assert {hour: rows for hour, rows in after.items() if hour != 12} == {hour: rows for hour, rows in before.items() if hour != 12}
        # the other hours were built for this run: hour 12 is that hour of a run of all hours
        assert_hour_rows_match(project, built_project, model, [12])
    # the export and the report of what the marts hold, with what the run found as metadata
    [report] = result.asset_materializations_for_node("anomaly_report")
    assert report.partition == "12"
    metadata = {name: value.value for name, value in report.metadata.items()}
    flagged = project.db.rows(f'select count(*), count(distinct user_name) from "{project.schema}".anomalous_users')[0]
    assert (metadata["rows"], metadata["flagged_users"]) == flagged
    assert "| a | 12 | 2017-01-12 | 303 |" in metadata["top_anomalies"]
    assert metadata["describes"].startswith(f'"{project.env["PGDATABASE"]}"."{project.schema}"."events", 2017-01-01 to 2017-01-14')
    report_path = Path(metadata["report"])
    assert report_path.parent.parent == project.runs_dir and report_path.parent.name.startswith("2017-01-14_events_")
    assert "<h1>netflow_pca: anomalous users" in report_path.read_text(encoding="utf-8")
    assert len(Path(metadata["export_csv"]).read_text(encoding="utf-8").splitlines()) == flagged[0] + 1
    [latest] = project.db.rows(f'select hour_id, invocation_id from "{project.schema}".pipeline_runs order by run_started_at desc limit 1')
    assert latest == (12, metadata["dbt_invocation"])
    # the data tests ran, dbt's unit tests not (as in a run of netflow-pca)
    [results] = [results for path in project.target_dir.glob("*/run_results.json")
                 if (results := json.loads(path.read_text()))["metadata"]["invocation_id"] == metadata["dbt_invocation"]]
    kinds = {result["unique_id"].split(".")[0] for result in results["results"]}
    assert {"model", "test"} <= kinds and "unit_test" not in kinds


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def test_failed_run_sends_an_email(dagster_project: tuple[Project, ModuleType], smtp_server: tuple[int, Inbox]) -> None:
    _, definitions = dagster_project
    port, inbox = smtp_server
    defs = definitions.build_definitions(
        {
            "NETFLOW_PCA_SMTP_HOST": "127.0.0.1",
            "NETFLOW_PCA_SMTP_PORT": str(port),
            "NETFLOW_PCA_SMTP_SENDER": "netflow@example.com",
            "NETFLOW_PCA_SMTP_RECIPIENTS": "soc@example.com,analyst@example.com",
        }
    )
    sensor = defs.resolve_sensor_def("netflow_pca_email_on_failure")
    instance = DagsterInstance.ephemeral()
    failed = defs.resolve_job_def("netflow_pca_hourly_job").execute_in_process(
        partition_key="12",
        run_config=RunConfig(ops={HOURLY_OP: HourlyRunConfig(run_date="2017-02-30")}),
        instance=instance,
        raise_on_error=False,
    )
    assert not failed.success

    context = build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_instance=instance,
        dagster_run=failed.dagster_run,
        dagster_event=failed.get_run_failure_event(),
    ).for_run_failure()
    sensor(context)

    [envelope] = inbox.envelopes
    assert envelope.mail_from == "netflow@example.com"
    assert envelope.rcpt_tos == ["soc@example.com", "analyst@example.com"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == "netflow_pca: netflow_pca_hourly_job failed (hour 12)"
    body = message.get_content()
    assert failed.dagster_run.run_id in body
    assert "run_date: '2017-02-30' is not a date as YYYY-MM-DD" in body


def test_a_run_with_new_anomalies_sends_an_email_when_asked(
    backfilled: tuple[Project, ModuleType], smtp_server: tuple[int, Inbox]
) -> None:
    _, definitions = backfilled
    port, inbox = smtp_server
    defs = definitions.build_definitions(
        {
            "NETFLOW_PCA_SMTP_HOST": "127.0.0.1",
            "NETFLOW_PCA_SMTP_PORT": str(port),
            "NETFLOW_PCA_SMTP_SENDER": "netflow@example.com",
            "NETFLOW_PCA_SMTP_RECIPIENTS": "soc@example.com",
            "NETFLOW_PCA_SMTP_NEW_ANOMALIES": "true",
        }
    )
    sensor = defs.resolve_sensor_def("netflow_pca_email_on_new_anomalies")
    instance = DagsterInstance.ephemeral()
    succeeded = defs.resolve_job_def("netflow_pca_hourly_job").execute_in_process(
        partition_key="12", run_config=RunConfig(ops={HOURLY_OP: EVENTS_CONFIG}), instance=instance
    )
    assert succeeded.success
    [report] = succeeded.asset_materializations_for_node("anomaly_report")
    # the window's last day is the run's day: a's burst is new on it, however often that day is run
    assert report.metadata["new_anomalies"].value >= 1

    context = build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_instance=instance,
        dagster_run=succeeded.dagster_run,
        dagster_event=succeeded.get_run_success_event(),
    )
    sensor(context)

    [envelope] = inbox.envelopes
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert re.fullmatch(r"netflow_pca: [0-9]+ new anomal(y|ies) \(hour 12\)", message["Subject"])
    body = message.get_content()
    assert succeeded.dagster_run.run_id in body
    assert "| a | 12 | 2017-01-12 | 303 |" in body
