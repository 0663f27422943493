{#- As dbt-utils' test of the same name: the rows whose value lies outside [min_value, max_value]. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    with validation_errors as (

        select *

        from {{ model }}

        where
            {%- if min_value is not none %}
            not ({{ column_name }} {{ '>=' if inclusive else '>' }} {{ min_value }})
            {%- endif %}
            {%- if min_value is not none and max_value is not none %} or {% endif %}
            {%- if max_value is not none %}
            not ({{ column_name }} {{ '<=' if inclusive else '<' }} {{ max_value }})
            {%- endif %}

    )

    select * from validation_errors
{% endtest %}
