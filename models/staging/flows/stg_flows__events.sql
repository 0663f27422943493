{%- set run = netflow_pca.run_vars() -%}
{%- set user_column = netflow_pca.events_column('user_column') -%}
{%- set time_column = netflow_pca.events_column('time_column') -%}
{#- only the columns the vars name are read: a role may hold grants on these alone #}
{%- set read_columns = [] -%}
{%- for column in [user_column, time_column] if column is not none and column.name not in read_columns -%}
    {%- do read_columns.append(column.name) -%}
{%- endfor -%}
{#- With the default vars the source is the sample seed: build it first. #}
{%- if run.events_table == 'sample_flows' and run.events_schema == target.schema %}
-- depends_on: {{ ref('sample_flows') }}
{%- endif %}

with

source as (

    select
    {%- for name in read_columns %}
        {{ netflow_pca.quote_identifier(name) }}{{ ',' if not loop.last }}
    {%- else %}
        *
    {%- endfor %}

    from {{ source('flows', 'events') }}

),

renamed as (

    select
        {{ netflow_pca.event_user_to_text(user_column) }} as user_name,
        {{ netflow_pca.event_time_to_timestamptz(time_column) }} as flow_at,
        {{ netflow_pca.quote_identifier(time_column.name) if time_column is not none else 'null' }} as flow_source_time

    from source

),

final as (

    select
        user_name,
        flow_at,
        flow_at at time zone {{ netflow_pca.sql_string_literal(run.timezone) }} as flow_local_at,
        flow_source_time

    from renamed

)

select * from final
