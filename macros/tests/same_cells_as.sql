{#-
    The groups (per group_by, of the hours the run builds) that the model holds and whose rows
    differ from those of compare_model: their number, or a checksum of their integer key_columns
    (a sum of 64-bit hashes, each key column hashed with the next one's hash as seed). With
    compare_model unique on (group_by, key_columns), equal counts and checksums say that the
    model holds each of those keys of the group exactly once, and no other: its uniqueness (a
    group the model leaves out, as a route that leaves the model empty does, passes, as it passes
    a uniqueness test), checked on two scans of aggregates
    instead of a group-by of every key (on int_residual_pca_input at 10 M events, 7.5 s for the
    group-by of 5.8 million keys, a node every later model waited for).
-#}
{% test same_cells_as(model, compare_model, key_columns, group_by='hour_of_day') %}
    {%- set checksum = namespace(sql='0') -%}
    {%- for column in key_columns | reverse -%}
        {%- set checksum.sql = 'hashint8extended(cast(' ~ column ~ ' as bigint), ' ~ checksum.sql ~ ')' -%}
    {%- endfor %}

    with

    {%- for name, relation in [('model_groups', model), ('compare_groups', compare_model)] %}

    {{ name }} as (

        select
            {{ group_by }},
            count(*) as cells,
            sum({{ checksum.sql }}) as checksum

        from {{ relation }}

        where {{ netflow_pca.hour_filter(group_by) }}

        group by {{ group_by }}

    ),
    {%- endfor %}

    validation_errors as (

        select
            model_groups.{{ group_by }},
            model_groups.cells as model_cells,
            compare_groups.cells as compare_cells

        from model_groups

        left join compare_groups
            on model_groups.{{ group_by }} = compare_groups.{{ group_by }}

        where model_groups.cells is distinct from compare_groups.cells
            or model_groups.checksum is distinct from compare_groups.checksum

    )

    select * from validation_errors
{% endtest %}
