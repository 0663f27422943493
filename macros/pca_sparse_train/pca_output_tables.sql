{#- Creates the output tables in MADlib's layout, with the grouping columns ("name type") last;
    on Greenplum distributed by the grouping columns (quoted names), the unit every reader takes. -#}
{% macro pca_output_tables(components, means, group_columns, group_keys=none) %}
    {%- set group_definitions -%}
        {%- for column in group_columns %}, {{ column }}{% endfor -%}
    {%- endset -%}
    {%- set distribution = netflow_pca.greenplum_distribution(group_keys) -%}
    {%- call statement('pca_output_tables') %}
        create table {{ components }} (
            row_id integer,
            principal_components double precision[],
            std_dev double precision,
            proportion double precision{{ group_definitions }}
        ){{ distribution }};
        {%- if means is not none %}
        create table {{ means }} (column_mean double precision[]{{ group_definitions }}){{ distribution }};
        {%- endif %}
    {%- endcall %}
{% endmacro %}
