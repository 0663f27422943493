-- Per (hour, user) of int_pca_input, in one hash aggregate of the cells (400,000 groups at 10
-- million events):
-- - name_id is the user's dense rank by name (bytewise) among the hour's users, so one name_id
--   per user and one user per name_id in an hour;
-- - the user's cells lie on distinct day_ids (a bit per day_id or-ed, its bits counted against
--   the cells), so int_pca_input is unique per (hour, day_id, name_id) and, day_id and day one
--   to one (pca_input_cells_match_hourly_counts), per (hour, day, user); with that test's equal
--   cells per (hour, day), int_hourly_counts is unique per (user, day, hour) on the window's days.
-- A group-by of every (hour, day, user) key, or a distinct count per (hour, day) (a sort of the
-- cells), cost several times as much. The aggregate runs in two halves of the users (the sign of
-- hashtext(user_name), as int_hourly_counts; one part on Greenplum), side by side as a Parallel
-- Append; the ranks over their union in the leader. At 10 million events, quiet: 3.1-3.3 s of CPU
-- in one process against 2.3-2.4 s in the leader and 1.3 s in a worker (the compiled test's
-- select, alternated twice). The failing (hour, user) groups, with a problem column naming what
-- fails. Only the hours this run builds.
{%- set run = netflow_pca.run_vars() %}
{#- day_id is at most lookback_days (the window's days): 63 of them to a bigint #}
{%- set day_words = range((run.lookback_days + 62) // 63) %}
{%- set halves = netflow_pca.hash_halves() %}

with

pca_input_users as (
    {%- for half in halves %}

    select
        hour_of_day,
        user_name collate "C" as user_name,
        min(name_id) as min_name_id,
        max(name_id) as max_name_id,
        count(name_id) as name_ids,
        count(*) as cells,
        {%- for word in day_words %}
        bit_or(case when day_id between {{ 63 * word + 1 }} and {{ 63 * word + 63 }}
            then cast(1 as bigint) << (day_id - {{ 63 * word + 1 }}) else 0 end) as days_{{ word }}{{ ',' if not loop.last }}
        {%- endfor %}

    from {{ ref('int_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}
    {%- if half %}
        and hashtext(user_name) {{ half }}
    {%- endif %}

    group by
        hour_of_day,
        user_name collate "C"
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

ranked_users as (

    select
        pca_input_users.*,
        dense_rank() over (partition by hour_of_day order by user_name) as expected_name_id,
        {%- for word in day_words %}
        length(replace(cast(cast(days_{{ word }} as bit(64)) as text), '0', '')){{ ' +' if not loop.last }}
        {%- endfor %} as days

    from pca_input_users

),

final as (

    select
        concat_ws('; ',
            case when min_name_id is distinct from expected_name_id
                or max_name_id is distinct from expected_name_id
                or name_ids < cells then 'name_id is not the rank of the user by name in the hour' end,
            case when days < cells then 'a user has two cells on a day_id' end
        ) as problem,
        hour_of_day,
        user_name,
        cells,
        days,
        min_name_id,
        max_name_id,
        expected_name_id

    from ranked_users

    where min_name_id is distinct from expected_name_id
        or max_name_id is distinct from expected_name_id
        or name_ids < cells
        or days < cells

)

select * from final
