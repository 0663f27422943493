"""The dbt project as Dagster reads it: its manifest, in a target folder of its own.

The manifest is read from `dagster/` in dbt's target folder (DBT_TARGET_PATH, default `target`),
a folder of its own so that dbt invoked by hand, which rewrites target/manifest.json with its own
vars, leaves the asset graph alone (the runner's invocations write to their run's record instead);
it is made with `dbt parse` once if it is absent.
`prepare_if_dev()` is not used: under `dagster dev` it parses in every run process, and runs of
several partitions at once race in it (dagster issue 33993).
"""

import os
from collections.abc import Mapping
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from filelock import FileLock

from orchestrate.run.runner import PROJECT_DIR, dbt_executable, profiles_dir


def dbt_project(environ: Mapping[str, str]) -> DbtProject:
    project = DbtProject(
        project_dir=PROJECT_DIR,
        target_path=Path(environ.get("DBT_TARGET_PATH", "target")) / "dagster",
        profiles_dir=profiles_dir(PROJECT_DIR, environ),
    )
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    # dagster dev starts two code servers at once: the first parses, the second waits and reads
    with FileLock(project.manifest_path.with_suffix(".lock")):
        if not project.manifest_path.exists():
            dbt = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
            dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


PROJECT = dbt_project(os.environ)
