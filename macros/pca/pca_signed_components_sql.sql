{#-
    A select of MADlib's component layout (row_id, principal_components, std_dev, proportion,
    <grouping columns>) from a relation of the same columns, with each component's sign fixed:
    its largest-magnitude entry (the first within the sign tolerance of the largest) is positive.
    MADlib's signs are arbitrary; fixed signs make runs reproducible and backends agree. A
    proportion is at most 1: a component holding all the variance can come out a rounding error
    above it.
-#}
{% macro pca_signed_components_sql(components, group_columns) %}
    {%- set tolerance = netflow_pca.pca_numerical_rules().sign_tolerance %}
    select
        unsigned.row_id,
        case
            when unsigned.principal_components[largest.i] < 0
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

    cross join lateral (
        select max(abs(entry)) as largest from unnest(unsigned.principal_components) as entry
    ) as magnitude

    cross join lateral (
        select min(entry.i) as i
        from unnest(unsigned.principal_components) with ordinality as entry (x, i)
        where abs(entry.x) >= (1 - {{ tolerance }}) * magnitude.largest
    ) as largest
{% endmacro %}
