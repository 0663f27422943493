{#-
    The replace_flags incremental strategy of anomaly_history: the model's rows are the flags this
    run raises, each already merged with its recorded rows; delete those recorded rows (the rows
    of the same flag: same_flag, runs that overlap, possibly several joined into one) and insert
    the new ones, in the materialization's transaction. Rows of flags not raised now stay as they
    are. A plain delete and insert: Greenplum has no MERGE.
-#}
{% macro get_incremental_replace_flags_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set raised = arg_dict['temp_relation'] -%}
    {%- set columns_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }} as recorded
    using {{ raised }} as raised
    where {{ netflow_pca.same_flag('raised', 'recorded') }};

    insert into {{ target }} ({{ columns_csv }})
    select {{ columns_csv }}
    from {{ raised }};
{% endmacro %}
