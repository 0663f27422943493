-- Each method the var scoring_method picks scores every user of every hour of the PCA input exactly
-- once, and no one else; a method it leaves out scores no one: the (hour, user, method) whose
-- number of scores is not that (is_pca_input_user false: not a user of that hour of the PCA
-- input). Being exactly once, this is the scores' uniqueness on (hour, user, method) too, which a
-- test of its own checked again in another scan and hash of every score; a method other than
-- these two is column_values_user_outlier_scores' to find. Only the hours this run builds: a run
-- of other hours at the same time commits its models one by one, so across two models its hours
-- may be half rewritten.
-- The cells and the scores in one hash aggregate per (hour, user), each method's scores counted
-- beside the user's cells: a group-by of the cells, another of the scores and a full join of the
-- two cost 2.7-2.8 s of CPU in three processes, the longest 1.4 s, where this costs 2.2 s, the
-- longest 1.1 s (10 million events, 398,935 scores, alternated twice at load 5; its 400,000
-- groups held in memory, _tests.yml).
{%- set run = netflow_pca.run_vars() %}
{%- set methods = ['residual', 'loading'] %}

with

cells_and_scores as (

    select
        hour_of_day,
        user_name,
        cast(null as text) as method

    from {{ ref('int_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

    union all

    select
        hour_of_day,
        user_name,
        method

    from {{ ref('user_outlier_scores') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

hour_users as (

    select
        hour_of_day,
        user_name,
        count(*) filter (where method is null) > 0 as is_pca_input_user,
        {%- for method in methods %}
        count(*) filter (where method = '{{ method }}') as {{ method }}_scores{{ ',' if not loop.last }}
        {%- endfor %}

    from cells_and_scores

    group by
        hour_of_day,
        user_name

),

methods as (

    select
        method,
        method in ('{{ run.scoring_methods | join("', '") }}') as is_picked

    from (values ('{{ methods | join("'), ('") }}')) as known (method)

),

final as (

    select
        hour_users.hour_of_day,
        hour_users.user_name,
        methods.method,
        case methods.method
            {%- for method in methods %}
            when '{{ method }}' then hour_users.{{ method }}_scores
            {%- endfor %}
        end as scores,
        hour_users.is_pca_input_user

    from hour_users

    cross join methods

    where case methods.method
            {%- for method in methods %}
            when '{{ method }}' then hour_users.{{ method }}_scores
            {%- endfor %}
        end
        <> case when hour_users.is_pca_input_user and methods.is_picked then 1 else 0 end

)

select * from final
