{#-
    The replace_flags incremental strategy of anomaly_history: the model's rows are the flags this
    run raises, each already merged with its recorded row; delete those flags' recorded rows and
    insert the new ones, in the materialization's transaction. A flag is (hour_of_day, method,
    user_name, the first day of its run: flag_first_day), the day null for the loading method;
    rows of flags not raised now stay as they are. A plain delete and insert: Greenplum has no
    MERGE.
-#}
{% macro get_incremental_replace_flags_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set raised = arg_dict['temp_relation'] -%}
    {%- set columns_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }} as recorded
    using {{ raised }} as raised
    where recorded.hour_of_day = raised.hour_of_day
        and recorded.method = raised.method
        and recorded.user_name = raised.user_name
        and {{ netflow_pca.flag_first_day('recorded') }} is not distinct from {{ netflow_pca.flag_first_day('raised') }};

    insert into {{ target }} ({{ columns_csv }})
    select {{ columns_csv }}
    from {{ raised }};
{% endmacro %}
