{#- As dbt-utils' test of the same name: the rows whose combination of columns is not unique. -#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
    {%- set columns = [] -%}
    {%- for column in combination_of_columns -%}
        {%- do columns.append(netflow_pca.quote_identifier(column) if quote_columns else column) -%}
    {%- endfor -%}
    {%- set columns_csv = columns | join(', ') -%}

    with validation_errors as (

        select
            {{ columns_csv }},
            count(*) as duplicate_count

        from {{ model }}

        group by {{ columns_csv }}

        having count(*) > 1

    )

    select * from validation_errors
{% endtest %}
