"""netflow_pca orchestration: runner CLI, Dagster definitions, embedded database, report."""
