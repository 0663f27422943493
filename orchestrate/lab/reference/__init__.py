"""The numpy reference of what the models compute: the PCA with the project's numerical rules
(pca) and the scoring methods (scoring)."""
