"""The models the orchestration tests look at, named once.

The scoring marts are built in parallel; when they land, switch these names: the lineage site
and the partition test to `anomalous_users`, and add the hour-partitioned marts to the models
that runs are compared on.
"""

# the lineage site must render this model's page and its parents
MOST_DOWNSTREAM_MODEL = "int_pca_input"
# a materialisation of partition "12" must produce this model's rows for hour 12
HOURLY_RESULT_MODEL = "int_pca_input"
# hour-partitioned models whose rows runs, retries and one-hour runs are compared on
HOURLY_MODELS = ("int_hourly_counts", "int_pca_input", "pca_components", "pca_column_means")
