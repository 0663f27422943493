"""The dbt invocations of a run and their record: the command's options as dbt arguments, the
runner, the plan that `retry` resumes and the display of a run's progress."""
