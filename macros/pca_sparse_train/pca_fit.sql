{#-
    The one place that dispatches to a backend. Creates the output tables with MADlib's layout,
    components (row_id, principal_components, std_dev, proportion, <grouping columns>) and, unless
    none, means (column_mean, <grouping columns>), runs the backend into them (scratch tables go to
    work_schema, the madlib backend's to pg_temp), then warns about the groups that got fewer
    components than asked for and drops the backend's scratch tables. Each backend returns
    {groups: a relation with a row for every group, or none, scratch: its tables}. Runs in the
    caller's transaction.
-#}
{% macro pca_fit(args, backend, components, means, work_schema) %}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- set work_name = 'pca_work_' ~ local_md5(invocation_id ~ components ~ started.isoformat())[:10] ~ '_' -%}
    {%- set work = netflow_pca.quote_identifier(work_schema) ~ '.' ~ work_name -%}
    {%- do netflow_pca.pca_output_tables(components, means, args.group_columns, args.groups) -%}

    {%- if backend.name == 'madlib' -%}
        {#- temporary tables: MADlib reads their names as plain text, whatever the schema's name -#}
        {%- set fitted = netflow_pca.pca_fit_madlib(args, components, means, work_name) -%}
    {%- elif backend.name == 'plpython' -%}
        {%- set fitted = netflow_pca.pca_fit_plpython(args, components, means) -%}
    {%- else -%}
        {%- set fitted = netflow_pca.pca_fit_sql(args, components, means, work) -%}
    {%- endif -%}

    {%- do log('netflow_pca: pca_sparse_train of ' ~ args.source_label ~ ' ran on the ' ~ backend.name
        ~ ' backend (' ~ backend.reason ~ ') in ' ~ ((modules.datetime.datetime.now() - started).total_seconds() | round(1))
        ~ ' s', info=true) -%}
    {%- do netflow_pca.pca_warn_short_groups(args, components, means, fitted.groups) -%}
    {%- if fitted.scratch -%}
        {%- call statement('pca_cleanup') -%}
            drop table if exists {{ fitted.scratch | join(', ') }}
        {%- endcall -%}
    {%- endif -%}
{% endmacro %}
