"""The dbt project as Dagster assets: every model an asset, partitioned by the hour of the day,
every dbt test an asset check on the model it tests, and the sample seed an asset of its own."""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy
from dagster_dbt import DbtCliResource, dbt_assets

from orchestrate.partitions import HOURLY_OP, HOURS, HourlyRunConfig, partition_vars
from orchestrate.project import PROJECT
from orchestrate.run.options import project_vars, vars_argument
from orchestrate.run.runner import PROJECT_DIR

SEEDS = "resource_type:seed"


@dbt_assets(manifest=PROJECT.manifest_path, project=PROJECT, select=SEEDS, name="netflow_pca_sample_data")
def sample_data(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """The sample seed, the events of the demo."""
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
    *earlier, last = partition_vars(context.partition_keys, config, project_vars(PROJECT_DIR))
    # A run of some hours is one build per hour. Dagster takes one output per asset from a run,
    # so only the last build reports; an earlier one that fails stops the run.
    for vars in earlier:
        dbt.cli(["build", "--vars", vars_argument(vars)], context=context).wait()
    yield from dbt.cli(["build", "--vars", vars_argument(last)], context=context).stream()
