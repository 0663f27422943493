{#-
    The values of order_by (an expression) whose rows do not all hold, in column_name, the value's
    dense rank (1-based) among the distinct values of order_by within its group of partition_by:
    for an id that numbers what it stands for, such as a user's column within an hour. It implies
    that the two stand for each other one to one. One aggregate per (group, value), then a rank of
    the far fewer values: two aggregates of every row, one per direction, cost more.
-#}
{% test dense_rank_of(model, column_name, order_by, partition_by=[]) %}
    {%- set groups = partition_by | list -%}
    {%- set group_prefix = (groups | join(', ') ~ ', ') if groups else '' -%}

    with ranked_values as (

        select
            {{ group_prefix }}{{ order_by }} as ranked_value,
            min({{ column_name }}) as min_rank,
            max({{ column_name }}) as max_rank,
            count({{ column_name }}) as ranks,
            count(*) as value_rows

        from {{ model }}

        group by {{ group_prefix }}{{ order_by }}

    ),

    expected as (

        select
            *,
            dense_rank() over (
                {%- if groups %}partition by {{ groups | join(', ') }} {% endif -%}
                order by ranked_value
            ) as expected_rank

        from ranked_values

    ),

    validation_errors as (

        select *

        from expected

        where min_rank is distinct from expected_rank
            or max_rank is distinct from expected_rank
            or ranks < value_rows

    )

    select * from validation_errors
{% endtest %}
