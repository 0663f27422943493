{#-
    The one place that dispatches to a backend. Creates the output tables with MADlib's layout,
    components (row_id, principal_components, std_dev, proportion, <grouping columns>) and, unless
    none, means (column_mean, <grouping columns>), runs the backend into them (scratch tables go to
    work_schema, the madlib backend's to pg_temp), then warns about the groups that got fewer
    components than asked for (the sql backend from its own table of the groups). Runs in the
    caller's transaction.
-#}
{% macro pca_fit(args, backend, components, means, work_schema) %}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- set work_name = 'pca_work_' ~ local_md5(invocation_id ~ components ~ started.isoformat())[:10] ~ '_' -%}
    {%- set work = netflow_pca.quote_identifier(work_schema) ~ '.' ~ work_name -%}
    {%- do netflow_pca.pca_output_tables(components, means, args.group_columns, args.groups) -%}

    {%- if backend.name == 'madlib' -%}
        {#- temporary tables: MADlib reads their names as plain text, whatever the schema's name -#}
        {%- do netflow_pca.pca_fit_madlib(args, components, means, work_name) -%}
    {%- elif backend.name == 'plpython' -%}
        {%- do netflow_pca.pca_fit_plpython(args, components, means) -%}
    {%- else -%}
        {%- do netflow_pca.pca_fit_sql(args, components, means, work) -%}
    {%- endif -%}

    {%- do log('netflow_pca: pca_sparse_train of ' ~ args.source_label ~ ' ran on the ' ~ backend.name
        ~ ' backend (' ~ backend.reason ~ ') in ' ~ ((modules.datetime.datetime.now() - started).total_seconds() | round(1))
        ~ ' s', info=true) -%}
    {%- if backend.name != 'sql' -%}
        {#- the sql backend warns itself, before it drops the table of its groups -#}
        {%- do netflow_pca._pca_warn_short_groups(args, components, means) -%}
    {%- endif -%}
{% endmacro %}


{#- A warning for each group with no components (no variance), or fewer than components_param;
    `groups`, where given, is a relation of every group of the source (one row each). -#}
{% macro _pca_warn_short_groups(args, components, means, groups=none) %}
    {%- set listed -%}
        {%- if not args.groups -%}(select 1) as listed
        {%- elif groups is not none -%}{{ groups }} as listed
        {%- elif means is not none -%}{{ means }} as listed
        {%- else -%}(select distinct {{ args.groups | join(', ') }} from {{ args.source }}) as listed
        {%- endif -%}
    {%- endset -%}
    {%- set short_groups = run_query(
        'select ' ~ ("concat_ws(', '" ~ netflow_pca._pca_group_labels(args) ~ ')' if args.groups else "'the matrix'")
        ~ ', (select count(*) from ' ~ components ~ ' as fitted'
        ~ (' where ' ~ netflow_pca.same_group_condition(args.groups, 'fitted', 'listed') if args.groups else '') ~ ') as kept'
        ~ ' from ' ~ listed ~ ' order by 2, 1 limit 11'
    ).rows | selectattr(1, 'lt', args.components or 1) | list -%}
    {%- for label, kept in short_groups[:10] -%}
        {%- do exceptions.warn('pca_sparse_train: ' ~ label ~ (' has no variance (fewer than 2 rows, or all rows equal): no components'
            if kept == 0 else ' has only ' ~ kept ~ ' components with variance; components_param asks for ' ~ args.components)) -%}
    {%- endfor -%}
    {%- if short_groups | length > 10 -%}
        {%- do exceptions.warn('pca_sparse_train: and more groups with fewer components than asked for') -%}
    {%- endif -%}
{% endmacro %}


{#- SQL for 'hour_of_day = 3'-like labels of the groups in relation `listed`. -#}
{% macro _pca_group_labels(args) %}
    {%- for name in args.group_names -%}
        , {{ netflow_pca.sql_string_literal(name ~ ' = ') }} || cast(listed.{{ args.groups[loop.index0] }} as text)
    {%- endfor -%}
{% endmacro %}
