{#-
    The replace_hours incremental strategy: delete the hours this run builds, insert the new rows.
    It runs inside the materialization's transaction, so readers see either the old hour or the
    new one, never a half-written one; an hour that has no rows now is emptied, not left stale.
    The model's incremental_predicates narrow the delete to the rows the model builds again.
-#}
{% macro get_incremental_replace_hours_sql(arg_dict) %}
    {%- set columns_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ netflow_pca.hour_filter('hour_of_day') }}
    {%- for predicate in arg_dict['incremental_predicates'] or [] %}
        and ({{ predicate }})
    {%- endfor %};

    insert into {{ arg_dict['target_relation'] }} ({{ columns_csv }})
    select {{ columns_csv }}
    from {{ arg_dict['temp_relation'] }};
{% endmacro %}
