{#- A warning for each group of a fit with no components (no variance), or fewer than
    components_param; `groups`, where given, is a relation of every group of the source (one row
    each: the groups a backend returns), else the means or a distinct scan of the source list
    them. pca_fit calls it after every backend, before it drops the backend's scratch tables. -#}
{% macro pca_warn_short_groups(args, components, means, groups=none) %}
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
