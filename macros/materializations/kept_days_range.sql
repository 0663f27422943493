{#-
    A scalar subquery: the days whose counts a run with recount_days set keeps in `relation`, as a
    daterange. Each hour this run builds holds the counts of a run of consecutive days up to its
    last counted day, so the days from the latest first day over the hours to the earliest last
    day, less recount_days (the margin for late events), are counted in every hour; cut to the
    window of run_date and lookback_days. Empty when an hour this run builds has no rows.
-#}
{% macro kept_days_range(relation) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set window_end = 'date ' ~ netflow_pca.sql_string_literal(run.run_date) if run.run_date else none -%}
    (
        select
            case
                when hours_counted = {{ netflow_pca.selected_hours() | length }} and kept_from < kept_until
                    then daterange(kept_from, kept_until)
                else 'empty'
            end

        from (
            select
                count(*) as hours_counted,
                greatest(max(first_day){{ ', ' ~ window_end ~ ' - ' ~ (run.lookback_days - 1) if window_end }}) as kept_from,
                least(min(last_day) - {{ run.recount_days }}{{ ', ' ~ window_end ~ ' + 1' if window_end }}) as kept_until

            from (
                select
                    min(day) as first_day,
                    max(day) as last_day

                from {{ relation }}

                where {{ netflow_pca.hour_filter('hour_of_day') }}

                group by hour_of_day
            ) as counted_hours
        ) as counted
    )
{%- endmacro %}
