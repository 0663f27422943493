{#-
    A select of MADlib's component layout (row_id, principal_components, std_dev, proportion,
    <grouping columns>) from a relation of the same columns, with each component's sign fixed:
    its largest-magnitude entry (the first within the sign tolerance of the largest) is positive.
    MADlib's signs are arbitrary; fixed signs make runs reproducible and backends agree. A
    proportion is at most 1: a component holding all the variance can come out a rounding error
    above it.
    It runs inside INSERT ... SELECT, so it keeps to what Greenplum 7's planner accepts there
    (docs/greenplum.md): the largest entry is found by a correlated scalar subquery with a window
    aggregate, not by an aggregate in a lateral subquery, and no subquery nests another.
-#}
{% macro pca_signed_components_sql(components, group_columns) %}
    {%- set tolerance = netflow_pca.pca_numerical_rules().sign_tolerance %}
    select
        unsigned.row_id,
        case
            when unsigned.principal_components[(
                select entry.i
                from (
                    select
                        entry.x,
                        entry.i,
                        max(abs(entry.x)) over () as largest
                    from unnest(unsigned.principal_components) with ordinality as entry (x, i)
                ) as entry
                where abs(entry.x) >= (1 - {{ tolerance }}) * entry.largest
                order by entry.i
                limit 1
            )] < 0
                -- a function scan yields the elements in order, and nothing here reorders them
                then array(select -entry from unnest(unsigned.principal_components) as entry)
            else unsigned.principal_components
        end as principal_components,
        unsigned.std_dev,
        least(unsigned.proportion, 1.0) as proportion
        {%- for group in group_columns %},
        unsigned.{{ group }}
        {%- endfor %}

    from {{ components }} as unsigned
{% endmacro %}
