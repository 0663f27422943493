{#-
    The madlib backend: one call of MADlib's pca_sparse_train with the grouping columns, into work
    tables, then the result normalised to this project's rules: signs fixed, components with no
    variance dropped. MADlib divides by zero on a group without variance, so such groups are left
    out of its input (they get no components, as in the other backends); lanczos_iter is
    min(row_dim, col_dim), as its default leaves trailing components inexact. Duplicate cells are
    refused here with the same message as the other backends. The column means are plain SQL.
-#}
{% macro pca_fit_madlib(args, components, means, work) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set rules = netflow_pca.pca_numerical_rules() -%}
    {%- set sums, source, fitted = work ~ 'column_sums', work ~ 'source', work ~ 'fitted' -%}
    {%- set groups = args.groups | join(', ') ~ ', ' if args.groups else '' -%}

    {%- set duplicates = run_query('select ' ~ args.row ~ ', ' ~ args.col ~ ' from ' ~ args.source
        ~ ' group by ' ~ groups ~ args.row ~ ', ' ~ args.col ~ ' having count(*) > 1 limit 1').rows -%}
    {%- if duplicates | length > 0 -%}
        {{- exceptions.raise_compiler_error('pca_sparse_train: duplicate entries for (row ' ~ duplicates[0][0]
            ~ ', column ' ~ duplicates[0][1] ~ ') in the source') -}}
    {%- endif -%}

    {%- call statement('pca_madlib_column_sums') %}
        create unlogged table {{ sums }} as
        select
            {{ groups }}{{ args.col }} as col_id,
            sum(cast({{ args.val }} as double precision)) as column_sum,
            sum(cast({{ args.val }} as double precision) ^ 2) as sum_of_squares
        from {{ args.source }}
        group by {{ groups }}{{ args.col }}
    {%- endcall %}

    {#- groups whose centred sum of squares, sum x^2 - sum over columns of (column sum)^2 / n, is zero -#}
    {%- set variance_check -%}
        select count(*) filter (where not has_variance), count(*) filter (where has_variance)
        from (
            select
                {{ args.row_dim }} >= 2
                and sum(sum_of_squares) - sum(column_sum ^ 2) / {{ args.row_dim }}
                    > {{ rules.no_variance }} * sum(sum_of_squares) as has_variance
            from {{ sums }}
            {%- if args.groups %}
            group by {{ args.groups | join(', ') }}
            {%- endif %}
        ) as groups
    {%- endset -%}
    {%- set without_variance, with_variance = run_query(variance_check).rows[0] -%}

    {%- if with_variance > 0 -%}
        {%- if without_variance > 0 -%}
            {%- call statement('pca_madlib_source') %}
                create unlogged table {{ source }} as
                select source.*
                from {{ args.source }} as source
                where ({{ args.groups | join(', ') }}) in (
                    select {{ args.groups | join(', ') }} from {{ sums }}
                    group by {{ args.groups | join(', ') }}
                    having sum(sum_of_squares) - sum(column_sum ^ 2) / {{ args.row_dim }}
                        > {{ rules.no_variance }} * sum(sum_of_squares)
                )
            {%- endcall %}
        {%- endif -%}
        {%- call statement('pca_madlib_train') %}
            select {{ netflow_pca.quote_identifier(run.madlib_schema) }}.pca_sparse_train(
                {{ netflow_pca.sql_string_literal(source if without_variance > 0 else args.source) }},
                {{ netflow_pca.sql_string_literal(fitted) }},
                {{ netflow_pca.sql_string_literal(args.row) }},
                {{ netflow_pca.sql_string_literal(args.col) }},
                {{ netflow_pca.sql_string_literal(args.val) }},
                {{ args.row_dim }},
                {{ args.col_dim }},
                {%- if args.components is not none %}
                cast({{ args.components }} as integer),
                {%- else %}
                cast({{ args.variance }} as double precision),
                {%- endif %}
                {{ netflow_pca.sql_string_literal(args.groups | join(', ')) if args.groups else 'cast(null as text)' }},
                {{ [args.row_dim, args.col_dim] | min }},
                false,
                cast(null as text)
            )
        {%- endcall %}
        {%- call statement('pca_madlib_components') %}
            insert into {{ components }} (row_id, principal_components, std_dev, proportion{% for group in args.groups %}, {{ group }}{% endfor %})
            {{ netflow_pca.pca_signed_components_sql(
                '(select * from ' ~ fitted ~ ' where proportion > ' ~ rules.zero_share ~ ')', args.groups) }}
        {%- endcall %}
    {%- endif -%}

    {%- if means is not none %}
        {%- call statement('pca_madlib_means') %}
            insert into {{ means }} (column_mean{% for group in args.groups %}, {{ group }}{% endfor %})
            {{ netflow_pca.pca_column_means_sql(sums, args.groups, args.row_dim, args.col_dim) }}
        {%- endcall %}
    {%- endif %}

    {%- call statement('pca_madlib_cleanup') %}
        drop table if exists {{ sums }}, {{ source }}, {{ fitted }}, {{ fitted }}_mean
    {%- endcall %}
{% endmacro %}
