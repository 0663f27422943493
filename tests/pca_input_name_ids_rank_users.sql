-- Per (hour, name_id) of int_pca_input, in one hash aggregate of the cells (400,000 groups at 10
-- million events), then in name_id order within the hour:
-- - one user per name_id (its least and greatest name equal, none null), the name_ids 1, 2, ...
--   with no gap, and each name_id's user after the previous one's by name (bytewise): so name_id
--   is the user's dense rank by name among the hour's users, one name_id per user and one user
--   per name_id in an hour;
-- - the name_id's cells lie on distinct day_ids (a bit per day_id or-ed, its bits counted against
--   the cells), so int_pca_input is unique per (hour, day_id, name_id) and, day_id and day one
--   to one (pca_input_cells_match_hourly_counts), per (hour, day, user); with that test's equal
--   cells per (hour, day), int_hourly_counts is unique per (user, day, hour) on the window's days;
-- - per hour, its users (one per name_id) are int_pca_dimensions' hour_users, counted and summed
--   as hashes of their names (hour_users_checksum), which the scores' test compares the scores'
--   users with instead of reading the cells again.
-- A group-by of every (hour, day, user) key, or a distinct count per (hour, day) (a sort of the
-- cells), cost several times as much. Grouped by the integer name_id, the names compared within a
-- group rather than hashed: the planner runs a partial aggregate in the leader and two workers,
-- whose blocks of int_pca_input (written in hour and name order) hold almost disjoint groups. At
-- 10 million events, the compiled test's select alternated twice at load 3-4: 2.7 s of CPU, 2.1-2.7 s
-- wall, against 3.0 s and 3.1-4.1 s grouped per (hour, user) in two halves of the users (the same
-- popcount), 3.8-3.9 s and 3.8-7.2 s before (docs/scoring.md). The failing (hour, name_id)
-- groups and hours (name_id null), with a problem column naming what fails. Only the hours this
-- run builds.
{%- set run = netflow_pca.run_vars() %}
{#- day_id is at most lookback_days (the window's days): 63 of them to a bigint #}
{%- set day_words = range((run.lookback_days + 62) // 63) %}

with

pca_input_ids as (

    select
        hour_of_day,
        name_id,
        min(user_name collate "C") as first_user_name,
        max(user_name collate "C") as last_user_name,
        count(user_name) as user_names,
        count(*) as cells,
        {%- for word in day_words %}
        bit_or(case when day_id between {{ 63 * word + 1 }} and {{ 63 * word + 63 }}
            then cast(1 as bigint) << (day_id - {{ 63 * word + 1 }}) else 0 end) as days_{{ word }}{{ ',' if not loop.last }}
        {%- endfor %}

    from {{ ref('int_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

    group by
        hour_of_day,
        name_id

),

pca_input_hours as (

    select
        hour_of_day,
        count(*) as users,
        sum(hashtextextended(first_user_name, 0)) as users_checksum

    from pca_input_ids

    group by hour_of_day

),

dimensions as (

    select * from {{ ref('int_pca_dimensions') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

ordered_ids as (

    select
        pca_input_ids.*,
        row_number() over hour_ids as expected_name_id,
        lag(last_user_name) over hour_ids as previous_user_name,
        {%- for word in day_words %}
        days_{{ word }} - ((days_{{ word }} >> 1) & 6148914691236517205) as day_pairs_{{ word }}{{ ',' if not loop.last }}
        {%- endfor %}

    from pca_input_ids

    window hour_ids as (partition by hour_of_day order by name_id)

),

{#- the bits of each word (63, never the sign bit) counted in arithmetic, the SWAR popcount:
    counts per pair of bits (mask 0x5555...), per 4 bits (0x3333...), per byte (0x0f0f...), then
    the bytes summed as the word modulo 255 (256 = 1 modulo 255; the sum is at most 63); the text
    of a bit string with its zeros removed cost 0.9 s more CPU at 400,000 groups, in the leader #}
counted_days as (

    select
        ordered_ids.*,
        {%- for word in day_words %}
        {%- set nibbles = '((day_pairs_' ~ word ~ ' & 3689348814741910323) + ((day_pairs_' ~ word ~ ' >> 2) & 3689348814741910323))' %}
        (({{ nibbles }} + ({{ nibbles }} >> 4)) & 1085102592571150095) % 255{{ ' +' if not loop.last }}
        {%- endfor %} as days

    from ordered_ids

),

failing_ids as (

    select
        concat_ws('; ',
            case when name_id is distinct from expected_name_id
                or first_user_name is distinct from last_user_name
                or user_names < cells
                or previous_user_name >= first_user_name then 'name_id is not the rank of the user by name in the hour' end,
            case when days < cells then 'a user has two cells on a day_id' end
        ) as problem,
        hour_of_day,
        name_id,
        expected_name_id,
        first_user_name,
        last_user_name,
        previous_user_name,
        cells,
        days

    from counted_days

    where name_id is distinct from expected_name_id
        or first_user_name is distinct from last_user_name
        or user_names < cells
        or previous_user_name >= first_user_name
        or days < cells

),

failing_hours as (

    select
        'the users of the hour are not int_pca_dimensions'' hour_users' as problem,
        coalesce(pca_input_hours.hour_of_day, dimensions.hour_of_day) as hour_of_day,
        pca_input_hours.users,
        dimensions.hour_users

    from pca_input_hours

    full outer join dimensions
        on pca_input_hours.hour_of_day = dimensions.hour_of_day

    where coalesce(pca_input_hours.users, 0) is distinct from dimensions.hour_users
        or coalesce(pca_input_hours.users_checksum, 0) is distinct from dimensions.hour_users_checksum

),

final as (

    select
        failing_ids.*,
        cast(null as bigint) as users,
        cast(null as integer) as hour_users

    from failing_ids

    union all

    select
        problem,
        hour_of_day,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        users,
        hour_users

    from failing_hours

)

select * from final
