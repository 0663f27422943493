"""The dbt project as Dagster assets: every model an asset, partitioned by the hour of the day,
every dbt test an asset check on the model it tests, and the sample seed an asset of its own;
downstream of anomalous_users, the run's export and report, whose materialisation shows what the
run found. With no PG* variable set, the assets use the embedded PostgreSQL of `netflow-pca`."""

import os
from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, MetadataValue, asset
from dagster_dbt import DbtCliResource, dbt_assets, get_asset_key_for_model

from orchestrate.database import server_environment
from orchestrate.partitions import HOURLY_OP, HOURS, HourlyRunConfig, partition_vars, run_of
from orchestrate.project import PROJECT
from orchestrate.results.export import RunFiles, runs_directory, write_run_files
from orchestrate.results.report import Relations, build_line, markdown_table, ranked
from orchestrate.run.backend import choose_backend
from orchestrate.run.daily import recorded_run_kind
from orchestrate.run.options import build_exclusions, project_vars, vars_argument
from orchestrate.run.runner import PROJECT_DIR, STATE_DIR

SEEDS = "resource_type:seed"
# what `netflow-pca run` leaves out (the seed is its own asset), not through the asset selection:
# dagster-dbt passes --select and --exclude of its own (and unit tests are no assets)
RUN_BUILD = ["build", *build_exclusions(reads_seed=False)]
# the embedded PostgreSQL of `netflow-pca`, used when no PG* variable is set
EMBEDDED_DATA = STATE_DIR / "pgdata"
TOP_ANOMALIES = 10


@dbt_assets(manifest=PROJECT.manifest_path, project=PROJECT, select=SEEDS, name="netflow_pca_sample_data")
def sample_data(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """The sample seed, the events of the demo."""
    with server_environment(EMBEDDED_DATA):
        yield from dbt.cli(["seed"], context=context).stream()


@dbt_assets(
    manifest=PROJECT.manifest_path,
    project=PROJECT,
    exclude=SEEDS,
    partitions_def=HOURS,
    # a backfill of many hours is one run, so that all 24 are one dbt build
    backfill_policy=BackfillPolicy.single_run(),
    name=HOURLY_OP,
)
def hourly_models(context: AssetExecutionContext, dbt: DbtCliResource, config: HourlyRunConfig) -> Iterator[Any]:
    """The models and their tests for the hours of the run's partitions."""
    defaults = project_vars(PROJECT_DIR)
    invocations = partition_vars(context.partition_keys, config, defaults)
    # A run of some hours is one build per hour. Dagster takes one output per asset from a run,
    # so only the last build reports; an earlier one that fails stops the run.
    with server_environment(EMBEDDED_DATA):
        kind = recorded_run_kind(
            dict(os.environ), PROJECT.manifest_path.parent, *run_of(invocations), defaults
        )
        context.log.info(kind.describe())
        backend = choose_backend(dict(os.environ), invocations[0], defaults)
        if backend is not None:
            context.log.info(backend.describe())
        *earlier, last = [{**vars, **kind.vars, **(backend.vars if backend else {})} for vars in invocations]
        for vars in earlier:
            dbt.cli([*RUN_BUILD, "--vars", vars_argument(vars)], context=context).wait()
        yield from dbt.cli([*RUN_BUILD, "--vars", vars_argument(last)], context=context).stream()


def run_files_metadata(files: RunFiles) -> dict[str, Any]:
    """What a materialisation of the run's files shows in Dagster's UI."""
    build = files.provenance.latest
    new = [row for row in ranked(files.anomalies, files.summaries) if row.get("is_new")]
    return {
        "new_anomalies": MetadataValue.int(len(new)),
        "new_anomalies_table": MetadataValue.md(markdown_table(new, TOP_ANOMALIES) if new else "No new anomalies."),
        "rows": MetadataValue.int(len(files.anomalies)),
        "flagged_users": MetadataValue.int(len({row["user_name"] for row in files.anomalies})),
        "flagged_by_method": MetadataValue.json({summary.method: summary.flagged for summary in files.summaries}),
        "top_anomalies": MetadataValue.md(markdown_table(ranked(files.anomalies, files.summaries), TOP_ANOMALIES)),
        "describes": MetadataValue.text(build_line(build)),
        "dbt_invocation": MetadataValue.text(build.invocation_id),
        "report": MetadataValue.path(str(files.report)),
        "export_csv": MetadataValue.path(str(files.csv)),
        "export_jsonl": MetadataValue.path(str(files.jsonl)),
    }


@asset(
    name="anomaly_report",
    deps=[get_asset_key_for_model([hourly_models], model) for model in ("anomalous_users", "pipeline_runs")],
    partitions_def=HOURS,
    backfill_policy=BackfillPolicy.single_run(),
    description="The export of anomalous_users (CSV and JSON lines) and the HTML report of what the marts hold "
    "after the run, in a folder of their own under runs/ (runs/latest points at the last).",
)
def anomaly_report(context: AssetExecutionContext) -> MaterializeResult:
    with server_environment(EMBEDDED_DATA):
        files = write_run_files(
            runs_directory(PROJECT_DIR, os.environ), dict(os.environ), Relations.of_build(PROJECT.manifest_path.parent)
        )
    context.log.info(files.results_text())
    return MaterializeResult(metadata=run_files_metadata(files))
