{#-
    The plpython backend: one pass over the source gathers each group's cells as text (their
    0-based index row * col_dim + column, and their values), and pca_fit_numpy fits the group in
    numpy; the components come back as float8[] literals in hexadecimal floating point (exact, and
    parsed far faster than PL/Python converts a list). The column means are plain SQL.
-#}
{% macro pca_fit_plpython(args, components, means) %}
    {%- set functions_schema = netflow_pca.quote_identifier(netflow_pca.run_vars().pca_functions_schema) -%}
    {%- call statement('pca_plpython_components') %}
        insert into {{ components }} (row_id, principal_components, std_dev, proportion{% for group in args.groups %}, {{ group }}{% endfor %})
        select
            fit.row_id,
            cast(fit.principal_components as double precision[]),
            fit.std_dev,
            fit.proportion
            {%- for group in args.groups %},
            matrices.{{ group }}
            {%- endfor %}
        from (
            select
                {%- for group in args.groups %}
                {{ group }},
                {%- endfor %}
                string_agg(
                    cast((cast({{ args.row }} as bigint) - 1) * {{ args.col_dim }} + {{ args.col }} - 1 as text), ','
                ) as cells,
                string_agg(cast(cast({{ args.val }} as double precision) as text), ',') as vals
            from {{ args.source }}
            {%- if args.groups %}
            group by {{ args.groups | join(', ') }}
            {%- endif %}
        ) as matrices
        cross join lateral {{ functions_schema }}.pca_fit_numpy(
            matrices.cells,
            matrices.vals,
            {{ args.row_dim }},
            {{ args.col_dim }},
            cast({{ args.components if args.components is not none else 'null' }} as integer),
            cast({{ args.variance if args.variance is not none else 'null' }} as double precision)
        ) as fit
    {%- endcall %}
    {%- if means is not none %}
        {%- call statement('pca_plpython_means') %}
            insert into {{ means }} (column_mean{% for group in args.groups %}, {{ group }}{% endfor %})
            {{ netflow_pca.pca_column_means_sql(netflow_pca._pca_column_sums_sql(args), args.groups, args.row_dim, args.col_dim) }}
        {%- endcall %}
    {%- endif %}
{% endmacro %}


{#- The column sums of the source, (<grouping columns>, col_id, column_sum), as a subquery. -#}
{% macro _pca_column_sums_sql(args) %}
    {%- set groups = args.groups | join(', ') ~ ', ' if args.groups else '' -%}
    {%- do return('(select ' ~ groups ~ args.col ~ ' as col_id, sum(' ~ args.val ~ ') as column_sum'
        ~ ' from ' ~ args.source ~ ' group by ' ~ groups ~ args.col ~ ')') -%}
{% endmacro %}
