"""The benchmarks of `netflow-pca bench` (command): pca (pca_sparse_train's backends), e2e (the
whole pipeline, the pandas route and the daily run) and scoring (recall and precision)."""
