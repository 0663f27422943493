-- int_pca_input's name_ids take each user's from the lookup int_window_users (name_ids, one per
-- hour of the user's), so the ranks are checked there, on the window's users, and the cells
-- against the lookup:
-- - per hour, the lookup's users (its hour bit set or a name_id there) in name_id order: the
--   name_ids 1, 2, ... with no gap, none null, the hour bit set, and each user after the previous
--   one by name (bytewise): so name_id is the user's dense rank by name among the hour's users,
--   one name_id per user (int_window_users is unique per user) and one user per name_id;
-- - per (hour, name_id) of int_pca_input, in one hash aggregate of the cells (400,000 groups at
--   10 million events), the least and greatest hash of the cells' user names (hashtextextended)
--   both the hash of the lookup's user of that (hour, name_id), and every (hour, name_id) of the
--   lookup with cells and the reverse: the name_id's cells are all its user's, and each user of
--   the hour has cells; the name_id's cells lie on distinct day_ids (a bit per day_id or-ed, its
--   bits counted against the cells), so int_pca_input is unique per (hour, day_id, name_id) and,
--   day_id and day one to one (pca_input_cells_match_hourly_counts), per (hour, day, user); with
--   that test's equal cells per (hour, day), int_hourly_counts is unique per (user, day, hour)
--   on the window's days;
-- - per hour, int_pca_input's users (one per name_id) are int_pca_dimensions' hour_users, counted
--   and summed as hashes of their names (hour_users_checksum), which the scores' test compares
--   the scores' users with instead of reading the cells again.
-- The cells are grouped by the integer name_id and their names hashed: int_pca_input is not
-- written in (hour, name) order, so its 400,000 groups come at random, 6.4-6.6 s of CPU against
-- 2.9-3.2 s on ordered cells (10 million events), and the names' min and max as text cost
-- 8.0-8.8 s. The failing (hour, name_id) groups and
-- hours (name_id null), with a problem column naming what fails. Only the hours this run builds.
{%- set run = netflow_pca.run_vars() %}
{#- day_id is at most lookback_days (the window's days): 63 of them to a bigint #}
{%- set day_words = range((run.lookback_days + 62) // 63) %}

with

window_users as (

    select * from {{ ref('int_window_users') }}

),

hours as (

    select hour_of_day

    from generate_series(0, 23) as hours (hour_of_day)

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

lookup_ids as (

    select
        hours.hour_of_day,
        window_users.name_ids[hours.hour_of_day + 1] as name_id,
        window_users.hours & (1 << hours.hour_of_day) <> 0 as has_hour,
        window_users.user_name,
        hashtextextended(window_users.user_name, 0) as user_hash

    from window_users

    inner join hours
        on window_users.hours & (1 << hours.hour_of_day) <> 0
        or window_users.name_ids[hours.hour_of_day + 1] is not null

),

ordered_lookup_ids as (

    select
        lookup_ids.*,
        row_number() over hour_ids as expected_name_id,
        lag(user_name) over hour_ids as previous_user_name

    from lookup_ids

    window hour_ids as (partition by hour_of_day order by name_id)

),

pca_input_ids as (

    select
        hour_of_day,
        name_id,
        min(hashtextextended(user_name, 0)) as min_user_hash,
        max(hashtextextended(user_name, 0)) as max_user_hash,
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
        sum(min_user_hash) as users_checksum

    from pca_input_ids

    group by hour_of_day

),

dimensions as (

    select * from {{ ref('int_pca_dimensions') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

paired_ids as (

    select
        coalesce(pca_input_ids.hour_of_day, ordered_lookup_ids.hour_of_day) as hour_of_day,
        coalesce(pca_input_ids.name_id, ordered_lookup_ids.name_id) as name_id,
        ordered_lookup_ids.expected_name_id,
        ordered_lookup_ids.has_hour,
        ordered_lookup_ids.user_name,
        ordered_lookup_ids.previous_user_name,
        ordered_lookup_ids.user_hash,
        pca_input_ids.min_user_hash,
        pca_input_ids.max_user_hash,
        pca_input_ids.cells,
        {%- for word in day_words %}
        pca_input_ids.days_{{ word }} - ((pca_input_ids.days_{{ word }} >> 1) & 6148914691236517205) as day_pairs_{{ word }}{{ ',' if not loop.last }}
        {%- endfor %}

    from pca_input_ids

    full outer join ordered_lookup_ids
        on pca_input_ids.hour_of_day = ordered_lookup_ids.hour_of_day
        and pca_input_ids.name_id = ordered_lookup_ids.name_id

),

{#- the bits of each word (63, never the sign bit) counted in arithmetic, the SWAR popcount:
    counts per pair of bits (mask 0x5555...), per 4 bits (0x3333...), per byte (0x0f0f...), then
    the bytes summed as the word modulo 255 (256 = 1 modulo 255; the sum is at most 63); the text
    of a bit string with its zeros removed cost 0.9 s more CPU at 400,000 groups, in the leader #}
counted_days as (

    select
        paired_ids.*,
        {%- for word in day_words %}
        {%- set nibbles = '((day_pairs_' ~ word ~ ' & 3689348814741910323) + ((day_pairs_' ~ word ~ ' >> 2) & 3689348814741910323))' %}
        (({{ nibbles }} + ({{ nibbles }} >> 4)) & 1085102592571150095) % 255{{ ' +' if not loop.last }}
        {%- endfor %} as days

    from paired_ids

),

failing_ids as (

    select
        concat_ws('; ',
            case when name_id is distinct from expected_name_id
                or not has_hour
                or previous_user_name >= user_name collate "C" then 'name_id is not the rank of the user by name in the hour' end,
            case when cells is null then 'a user of the hour has no cells' end,
            case when user_hash is null
                or min_user_hash <> user_hash
                or max_user_hash <> user_hash then 'the cells of the name_id are not its user''s' end,
            case when days < cells then 'a user has two cells on a day_id' end
        ) as problem,
        hour_of_day,
        name_id,
        expected_name_id,
        user_name,
        previous_user_name,
        user_hash,
        min_user_hash,
        max_user_hash,
        cells,
        days

    from counted_days

    where name_id is distinct from expected_name_id
        or not has_hour
        or previous_user_name >= user_name collate "C"
        or cells is null
        or user_hash is null
        or min_user_hash <> user_hash
        or max_user_hash <> user_hash
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
        null,
        null,
        users,
        hour_users

    from failing_hours

)

select * from final
