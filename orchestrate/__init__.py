"""netflow_pca's Python side. The product: the `netflow-pca` command (cli), the dbt invocations of
a run and their record (run), the embedded PostgreSQL (database), the Dagster code location
(definitions, with project, assets, partitions and alerts beside it) and the results of a run
(results). The lab (lab): generators, the numpy reference, evaluation and benchmarks."""
