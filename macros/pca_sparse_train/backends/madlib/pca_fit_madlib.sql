{#-
    The madlib backend: one call of MADlib's pca_sparse_train with grouping, then the result
    normalised to this project's rules: signs fixed, components with no variance dropped.
    MADlib pastes every name it is given into its SQL unquoted, compares the row id and grouping
    columns with the table's column names as quote_ident spells them, and pastes each group's
    values unquoted too (`grp=3`). So it never sees the source's own names or values: it reads a
    temporary copy of the cells with simple lower-case columns (grp, row_num, col_num, val), whose
    one grouping column numbers the groups, and the groups are mapped back afterwards.
    MADlib divides by zero on a group without variance, so such groups are left out of that copy
    (they get no components, as in the other backends); lanczos_iter is min(row_dim, col_dim), as
    its default leaves trailing components inexact. Duplicate cells are refused here with the same
    message as the other backends. The column means are plain SQL. Its scratch tables are
    temporary, named work_name and a suffix, and returned for pca_fit to drop (its table of the
    groups lists only those with variance, so it is not the fit's groups).
-#}
{% macro pca_fit_madlib(args, components, means, work_name) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set rules = netflow_pca.pca_numerical_rules() -%}
    {%- set work = 'pg_temp.' ~ work_name -%}
    {%- set sums, groups, cells, fitted = work ~ 'column_sums', work ~ 'groups', work ~ 'cells', work ~ 'fitted' -%}
    {%- set group_list = args.groups | join(', ') -%}

    {%- set duplicates = run_query('select ' ~ args.row ~ ', ' ~ args.col ~ ' from ' ~ args.source
        ~ ' group by ' ~ (group_list ~ ', ' if args.groups else '') ~ args.row ~ ', ' ~ args.col
        ~ ' having count(*) > 1 limit 1').rows -%}
    {%- if duplicates | length > 0 -%}
        {{- exceptions.raise_compiler_error('pca_sparse_train: duplicate entries for (row ' ~ duplicates[0][0]
            ~ ', column ' ~ duplicates[0][1] ~ ') in the source') -}}
    {%- endif -%}

    {%- call statement('pca_madlib_column_sums') %}
        create temporary table {{ work_name }}column_sums as
        select
            {{ group_list ~ ', ' if args.groups }}{{ args.col }} as col_id,
            sum(cast({{ args.val }} as double precision)) as column_sum,
            sum(cast({{ args.val }} as double precision) ^ 2) as sum_of_squares
        from {{ args.source }}
        group by {{ group_list ~ ', ' if args.groups }}{{ args.col }}
        {{- netflow_pca.greenplum_distribution(args.groups) }}
    {%- endcall %}

    {#- the groups with variance (centred sum of squares, sum x^2 - sum over columns of (column
        sum)^2 / n, above the rule's share of the raw one), numbered 1.. for MADlib -#}
    {%- call statement('pca_madlib_groups') %}
        create temporary table {{ work_name }}groups as
        select
            cast(row_number() over ({{ 'order by ' ~ group_list if args.groups }}) as integer) as grp
            {%- for group in args.groups %},
            {{ group }}
            {%- endfor %}
        from {{ sums }}
        {%- if args.groups %}
        group by {{ group_list }}
        {%- endif %}
        having {{ args.row_dim }} >= 2
            and sum(sum_of_squares) - sum(column_sum ^ 2) / {{ args.row_dim }} > {{ rules.no_variance }} * sum(sum_of_squares)
        {{- netflow_pca.greenplum_distribution(replicated=true) }}
    {%- endcall %}

    {%- if run_query('select count(*) from ' ~ groups).rows[0][0] > 0 -%}
        {%- call statement('pca_madlib_cells') %}
            create temporary table {{ work_name }}cells as
            select
                {{ 'groups.grp,' if args.groups }}
                cast(source.{{ args.row }} as integer) as row_num,
                cast(source.{{ args.col }} as integer) as col_num,
                cast(source.{{ args.val }} as double precision) as val
            from {{ args.source }} as source
            {%- if args.groups %}
            inner join {{ groups }} as groups on {{ netflow_pca.same_group_condition(args.groups, 'groups', 'source') }}
            {%- endif %}
            {{- netflow_pca.greenplum_distribution(['col_num']) }}
        {%- endcall %}
        {%- call statement('pca_madlib_train') %}
            select {{ netflow_pca.quote_identifier(run.madlib_schema) }}.pca_sparse_train(
                {{ netflow_pca.sql_string_literal(cells) }},
                {{ netflow_pca.sql_string_literal(fitted) }},
                'row_num',
                'col_num',
                'val',
                {{ args.row_dim }},
                {{ args.col_dim }},
                {%- if args.components is not none %}
                cast({{ args.components }} as integer),
                {%- else %}
                cast({{ args.variance }} as double precision),
                {%- endif %}
                {{ "'grp'" if args.groups else 'cast(null as text)' }},
                {{ [args.row_dim, args.col_dim] | min }},
                false,
                cast(null as text)
            )
        {%- endcall %}
        {%- call statement('pca_madlib_components') %}
            insert into {{ components }} (row_id, principal_components, std_dev, proportion{% for group in args.groups %}, {{ group }}{% endfor %})
            {%- set fitted_components -%}
                (
                    select
                        fitted.row_id,
                        fitted.principal_components,
                        fitted.std_dev,
                        fitted.proportion
                        {%- for group in args.groups %},
                        groups.{{ group }}
                        {%- endfor %}
                    from {{ fitted }} as fitted
                    {%- if args.groups %}
                    inner join {{ groups }} as groups on groups.grp = fitted.grp
                    {%- endif %}
                    where fitted.proportion > {{ rules.zero_share }}
                )
            {%- endset %}
            {{ netflow_pca.pca_signed_components_sql(fitted_components, args.groups) }}
        {%- endcall %}
    {%- endif -%}

    {%- if means is not none %}
        {%- call statement('pca_madlib_means') %}
            insert into {{ means }} (column_mean{% for group in args.groups %}, {{ group }}{% endfor %})
            {{ netflow_pca.pca_column_means_sql(sums, args.groups, args.row_dim, args.col_dim) }}
        {%- endcall %}
    {%- endif %}

    {%- do return({'groups': none, 'scratch': [sums, groups, cells, fitted, fitted ~ '_mean']}) -%}
{% endmacro %}
