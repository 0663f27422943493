{#-
    The values of column_name that map to more than one value of to_column, or the reverse,
    within each group of partition_by: for keys that must stand for each other, such as a day
    and its day_id within an hour, so that a join on either cannot multiply rows.
-#}
{% test one_to_one(model, column_name, to_column, partition_by=[]) %}
    {%- set groups = partition_by | list -%}
    {%- set group_prefix = (groups | join(', ') ~ ', ') if groups else '' -%}

    with pairs as (

        select distinct
            {{ group_prefix }}{{ column_name }} as from_value,
            {{ to_column }} as to_value

        from {{ model }}

    ),

    validation_errors as (

        select
            {{ group_prefix }}'{{ column_name }} maps to several {{ to_column }}' as problem,
            cast(from_value as text) as value,
            count(*) as mapped_count
        from pairs
        group by {{ group_prefix }}from_value
        having count(*) > 1

        union all

        select
            {{ group_prefix }}'{{ to_column }} maps to several {{ column_name }}',
            cast(to_value as text),
            count(*)
        from pairs
        group by {{ group_prefix }}to_value
        having count(*) > 1

    )

    select * from validation_errors
{% endtest %}
