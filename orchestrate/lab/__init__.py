"""The lab: data generators, the numpy reference of the PCA and the scoring, their evaluation and
the benchmarks. Needs the `bench` extra (numpy, pandas, scikit-learn); the product never imports
it at load time, only `netflow-pca bench` does, when it runs."""
