{#-
    The values of column_name that map to more than one value of to_column, or the reverse,
    within each group of partition_by: for keys that must stand for each other, such as a day
    and its day_id within an hour, so that a join on either cannot multiply rows. A null and a
    value count as two. Each direction is one aggregate over the model: the distinct pairs
    aggregated again took 4.7 s in one build and 9 minutes in another on the same 5.8 million
    cells (the second hash aggregate, fed in the first's hash order, degenerates).
-#}
{% test one_to_one(model, column_name, to_column, partition_by=[]) %}
    {%- set groups = partition_by | list -%}
    {%- set group_prefix = (groups | join(', ') ~ ', ') if groups else '' -%}

    with validation_errors as (
    {%- for key, other in [(column_name, to_column), (to_column, column_name)] %}
        {{ 'union all' if not loop.first }}

        select
            {{ group_prefix }}'{{ key }} maps to several {{ other }}' as problem,
            cast({{ key }} as text) as value,
            cast(min({{ other }}) as text) as one_mapped_value,
            cast(max({{ other }}) as text) as another_mapped_value
        from {{ model }}
        group by {{ group_prefix }}{{ key }}
        having min({{ other }}) <> max({{ other }})
            or (count({{ other }}) > 0 and count({{ other }}) < count(*))
    {%- endfor %}

    )

    select * from validation_errors
{% endtest %}
