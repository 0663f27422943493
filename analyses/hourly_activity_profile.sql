-- Exploration: each user's typical flows per hour of the day across the analysed days, the
-- profile against which the PCA finds erratic hours. `dbt compile` renders it into target/.
with

pca_input as (

    select * from {{ ref('int_pca_input') }}

),

days_per_hour as (

    select
        hour_of_day,
        row_dim as days

    from {{ ref('int_pca_dimensions') }}

),

final as (

    select
        pca_input.user_name,
        pca_input.hour_of_day,
        round(sum(pca_input.flow_count)::numeric / days_per_hour.days, 2) as mean_flows,
        max(pca_input.flow_count) as max_flows

    from pca_input

    inner join days_per_hour
        on days_per_hour.hour_of_day = pca_input.hour_of_day

    group by
        pca_input.user_name,
        pca_input.hour_of_day,
        days_per_hour.days

)

select * from final
order by user_name, hour_of_day
