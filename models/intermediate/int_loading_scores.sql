{#- The loading method's scores (the original pipeline's): per hour and user, the largest |entry|
    of the user's column across the components pca_components keeps (variance_target), so that a
    component's arbitrary sign cannot change it, and the component it is in. A user of an hour
    without components scores 0. Empty when the var scoring_method leaves the method out. -#}
{{ config(distributed_by=['user_name'], **netflow_pca.hour_partitioned_config()) }}
{%- set run = netflow_pca.run_vars() %}

with

hour_users as (

    select
        hour_of_day,
        name_id,
        user_name

    from {{ ref('int_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

    group by
        hour_of_day,
        name_id,
        user_name

),

kept_components as (

    select * from {{ ref('pca_components') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

component_counts as (

    select
        hour_of_day,
        count(*) as kept_components

    from kept_components

    group by hour_of_day

),

entries as (

    select
        kept_components.hour_of_day,
        kept_components.row_id,
        cast(entry.name_id as integer) as name_id,
        abs(entry.loading) as magnitude

    from kept_components

    cross join lateral unnest(kept_components.principal_components) with ordinality as entry (loading, name_id)

),

largest_entries as (

    -- ties go to the earlier component
    select distinct on (hour_of_day, name_id)
        hour_of_day,
        name_id,
        row_id,
        magnitude

    from entries

    order by
        hour_of_day,
        name_id,
        magnitude desc,
        row_id

),

final as (

    select
        hour_users.hour_of_day,
        hour_users.user_name,
        cast('loading' as text) as method,
        cast(coalesce(largest_entries.magnitude, 0) as double precision) as score,
        cast({{ run.loading_threshold }} as double precision) as threshold,
        coalesce(largest_entries.magnitude, 0) > {{ run.loading_threshold }} as is_anomalous,
        cast(null as date) as evidence_day,
        cast(largest_entries.row_id as integer) as evidence_component,
        cast(null as bigint) as flow_count,
        cast(null as double precision) as expected_flow_count,
        cast(coalesce(component_counts.kept_components, 0) as integer) as kept_components,
        cast(null as date) as first_evidence_day,
        cast(null as date) as last_evidence_day

    from hour_users

    left join largest_entries
        on hour_users.hour_of_day = largest_entries.hour_of_day
        and hour_users.name_id = largest_entries.name_id

    left join component_counts
        on hour_users.hour_of_day = component_counts.hour_of_day
    {%- if 'loading' not in run.scoring_methods %}

    where false
    {%- endif %}

)

select * from final
