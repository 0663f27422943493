"""The results of a run: the queries that read the marts, the exported files and the static
HTML report."""
