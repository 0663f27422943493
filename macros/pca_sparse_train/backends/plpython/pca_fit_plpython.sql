{#-
    The plpython backend: one pass over the source gathers each group's cells as text (their
    0-based index row * col_dim + column, and their values), and pca_fit_numpy fits the group in
    numpy; its column means and components come back as float8[] literals of 16 significant digits
    (parsed far faster than PL/Python converts a list), and one statement writes both tables.
-#}
{% macro pca_fit_plpython(args, components, means) %}
    {%- set functions_schema = netflow_pca.quote_identifier(netflow_pca.run_vars().pca_functions_schema) -%}
    {%- set group_list = args.groups | join(', ') ~ ', ' if args.groups else '' -%}
    {%- call statement('pca_plpython_fit') %}
        with

        matrices as (

            select
                {{ group_list }}
                string_agg(
                    cast((cast({{ args.row }} as bigint) - 1) * {{ args.col_dim }} + {{ args.col }} - 1 as text), ','
                ) as cells,
                string_agg(cast(cast({{ args.val }} as double precision) as text), ',') as vals
            from {{ args.source }}
            {%- if args.groups %}
            group by {{ args.groups | join(', ') }}
            {%- endif %}

        ),

        fit as {{ 'materialized ' if means is not none }}(

            select
                {{ netflow_pca.prefixed_columns(args.groups, 'matrices.') ~ ', ' if args.groups }}
                fitted.row_id,
                cast(fitted.principal_components as double precision[]) as principal_components,
                fitted.std_dev,
                fitted.proportion
            from matrices
            cross join lateral {{ functions_schema }}.pca_fit_numpy(
                matrices.cells,
                matrices.vals,
                {{ args.row_dim }},
                {{ args.col_dim }},
                cast({{ args.components if args.components is not none else 'null' }} as integer),
                cast({{ args.variance if args.variance is not none else 'null' }} as double precision)
            ) as fitted

        ){% if means is not none %},

        means as (

            insert into {{ means }} (column_mean{% for group in args.groups %}, {{ group }}{% endfor %})
            select principal_components{% for group in args.groups %}, {{ group }}{% endfor %}
            from fit
            where row_id = 0

        ){% endif %}

        insert into {{ components }} (row_id, principal_components, std_dev, proportion{% for group in args.groups %}, {{ group }}{% endfor %})
        select row_id, principal_components, std_dev, proportion{% for group in args.groups %}, {{ group }}{% endfor %}
        from fit
        where row_id > 0
    {%- endcall %}
    {%- do return({'groups': none, 'scratch': []}) -%}
{% endmacro %}
