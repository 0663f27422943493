"""The models the orchestration tests look at, named once."""

# the lineage site must render this model's page and its parents
MOST_DOWNSTREAM_MODEL = "anomalous_users"
# a materialisation of partition "12" must produce this model's rows for hour 12
HOURLY_RESULT_MODEL = "anomalous_users"
# hour-partitioned models whose rows runs, retries and one-hour runs are compared on
HOURLY_MODELS = (
    "int_hourly_counts",
    "int_pca_input",
    "pca_components",
    "pca_column_means",
    "int_residual_pca_input",
    "int_residual_pca_components",
    "int_residual_pca_column_means",
    "int_residual_user_statistics",
    "int_residual_user_components",
    "int_residual_expected_counts",
    "int_residual_scores",
    "int_loading_scores",
    "user_outlier_scores",
    "anomalous_users",
)
# the set-based route of the residual method (residual_scoring_route): a build whose vars name
# plpython has none of them, as `netflow-pca run` has where pca_backend auto resolves to plpython
SET_BASED_RESIDUAL_MODELS = (
    "int_residual_pca_input",
    "int_residual_pca_components",
    "int_residual_pca_column_means",
    "int_residual_user_statistics",
    "int_residual_user_components",
    "int_residual_expected_counts",
)
