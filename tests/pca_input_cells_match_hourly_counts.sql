-- Every cell of the PCA input is an hourly count, unchanged, and every hourly count of a day the
-- input holds is a cell: per (hour, day), the cells, their flows and a checksum of (user, count)
-- pairs agree with int_hourly_counts. The (hour, day) groups where they do not. A lost, added,
-- doubled or changed cell changes the checksum (a sum of 64-bit hashes), so aggregates of two
-- scans guard what a join of every cell did, for a fraction of its cost. Only the hours this run
-- builds: a run of other hours at the same time commits its models one by one, so across two
-- models its hours may be half rewritten.
with

pca_input as (

    select * from {{ ref('int_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

hourly_counts as (

    select * from {{ ref('int_hourly_counts') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

pca_input_days as (

    select
        hour_of_day,
        day,
        count(*) as cells,
        sum(flow_count) as flows,
        sum(hashtextextended(user_name || '/' || cast(flow_count as text), 0)) as checksum

    from pca_input

    group by
        hour_of_day,
        day

),

hourly_count_days as (

    select
        hour_of_day,
        day,
        count(*) as cells,
        sum(flow_count) as flows,
        sum(hashtextextended(user_name || '/' || cast(flow_count as text), 0)) as checksum

    from hourly_counts

    group by
        hour_of_day,
        day

),

final as (

    select
        pca_input_days.hour_of_day,
        pca_input_days.day,
        pca_input_days.cells as pca_input_cells,
        hourly_count_days.cells as hourly_count_cells,
        pca_input_days.flows as pca_input_flows,
        hourly_count_days.flows as hourly_count_flows

    from pca_input_days

    left join hourly_count_days
        on pca_input_days.hour_of_day = hourly_count_days.hour_of_day
        and pca_input_days.day = hourly_count_days.day

    where hourly_count_days.cells is distinct from pca_input_days.cells
        or hourly_count_days.flows is distinct from pca_input_days.flows
        or hourly_count_days.checksum is distinct from pca_input_days.checksum

)

select * from final
