-- Each method the var scoring_method picks scores every user of every hour of the PCA input exactly
-- once, and no one else; a method it leaves out scores no one. Per (hour, method), the scores
-- counted and their users' names summed as 64-bit hashes, against int_pca_dimensions'
-- hour_users and hour_users_checksum, which pca_input_name_ids_rank_users ties to int_pca_input's
-- users of the hour (so this reads the 400,000 scores, not the 5.8 million cells at 10 million
-- events: 1.2-1.5 s of wall at the end of every build before, docs/scoring.md). Being exactly
-- once, this is the scores' uniqueness on (hour, user, method) too, which a test of its own
-- checked again in another scan and hash of every score; a method other than these two is
-- column_values_user_outlier_scores' to find. The scores are summed as they come, not grouped per
-- user first: a user scored twice, or one scored twice where another is missing, changes the sum
-- of the hashes as a user scored once in another's place does (the count alone would not see it;
-- only a collision of the sums could hide it),
-- and the group-by of the 400,000 scores per (hour, method, user) was 0.2 s of this test's 0.3 s
-- on the build's critical path. The failing (hour, method) pairs, with a problem column naming
-- what fails. Only the hours this run builds: a run of other hours at the same time commits its
-- models one by one, so across two models its hours may be half rewritten.
{%- set run = netflow_pca.run_vars() %}
{%- set methods = ['residual', 'loading'] %}

with

method_hours as (

    select
        hour_of_day,
        method,
        count(*) as scores,
        sum(hashtextextended(user_name, 0)) as users_checksum

    from {{ ref('user_outlier_scores') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

    group by
        hour_of_day,
        method

),

methods as (

    select
        method,
        method in ('{{ run.scoring_methods | join("', '") }}') as is_picked

    from (values ('{{ methods | join("'), ('") }}')) as known (method)

),

expected as (

    select
        dimensions.hour_of_day,
        methods.method,
        case when methods.is_picked then dimensions.hour_users else 0 end as users,
        case when methods.is_picked then dimensions.hour_users_checksum else 0 end as users_checksum

    from {{ ref('int_pca_dimensions') }} as dimensions

    cross join methods

    where {{ netflow_pca.hour_filter('dimensions.hour_of_day') }}

),

compared as (

    select
        coalesce(expected.hour_of_day, method_hours.hour_of_day) as hour_of_day,
        coalesce(expected.method, method_hours.method) as method,
        expected.users as expected_users,
        coalesce(method_hours.scores, 0) as scores,
        expected.users_checksum as expected_checksum,
        coalesce(method_hours.users_checksum, 0) as scored_checksum

    from expected

    full outer join method_hours
        on expected.hour_of_day = method_hours.hour_of_day
        and expected.method = method_hours.method

),

final as (

    select
        'the scores are not one for each user of the hour of int_pca_input' as problem,
        hour_of_day,
        method,
        expected_users,
        scores

    from compared

    where scores is distinct from expected_users
        or scored_checksum is distinct from expected_checksum

)

select * from final
