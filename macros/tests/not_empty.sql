{#- Fails (one row) when the model has no rows at all: for a run whose window holds no data. -#}
{% test not_empty(model) %}
    select 'no rows' as problem
    where not exists (select 1 from {{ model }})
{% endtest %}
