{#-
    A pre-hook of the hour-partitioned models (hour_partitioned_config), after their hours'
    locks: a run of some hours scores them against its users' other hours as stored, so it goes
    on only where every other hour of the relations its scoring route reads across hours
    (hour_builds) was built for this run's window and parameters; then its rows equal
    those of a run of all hours. Otherwise it stops, before the first such model (int_hourly_counts)
    writes, with an error naming the hours and what differs. Renders no SQL.
-#}
{% macro check_other_hours_built() %}
    {%- set hours = netflow_pca.selected_hours() -%}
    {#- a run of all hours reads no stored hour: it returns before resolving the route, whose
        backend check queries the database, in every hour-partitioned model's hook #}
    {%- if hours | length == 24 or not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set read_across = netflow_pca.hours_read_across(netflow_pca.residual_scoring_route()) -%}
    {%- if not read_across -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set other_hours = range(24) | reject('in', hours) | list -%}
    {%- if this.identifier == 'int_residual_scores' -%}
        {#- the model that reads the other hours: until it commits, a run writing one of them
            (which holds that hour's lock) cannot change what it checks and then reads #}
        {%- for relation_name in read_across -%}
            {%- do run_query(
                "select count(pg_advisory_xact_lock_shared(hashtext("
                ~ netflow_pca.sql_string_literal(netflow_pca.model_relation(relation_name) | string)
                ~ "), hour_of_day)) from unnest(array[" ~ other_hours | join(', ') ~ "]) as hours (hour_of_day)"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set records = netflow_pca.hour_builds_relation() -%}
    {%- set has_records = netflow_pca.relation_exists(records) -%}
    {%- set hours_by_difference = {} -%}
    {%- for relation_name, names in read_across.items() -%}
        {%- set this_run = fromjson(run_query(netflow_pca.hour_build_parameters(names)).columns[0].values()[0]) -%}
        {%- set stored = {} -%}
        {%- if has_records -%}
            {%- set found = run_query(
                "select hour_of_day, cast(built_for as text) from " ~ records
                ~ " where relation_name = " ~ netflow_pca.sql_string_literal(relation_name)
            ) -%}
            {%- for hour, built_for in found.rows -%}
                {%- do stored.update({hour: fromjson(built_for)}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- for hour in other_hours -%}
            {%- set difference = netflow_pca._hour_build_difference(stored.get(hour), this_run, names) -%}
            {%- if difference and hour not in hours_by_difference.get(difference, []) -%}
                {%- do hours_by_difference.setdefault(difference, []).append(hour) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set problems = [] -%}
    {%- for difference, different_hours in hours_by_difference.items() -%}
        {%- do problems.append('hours ' ~ netflow_pca._hour_ranges(different_hours) ~ ' ' ~ difference) -%}
    {%- endfor -%}
    {%- if problems -%}
        {{- exceptions.raise_compiler_error(
            "The residual scores of hour" ~ ('s ' if hours | length > 1 else ' ') ~ netflow_pca._hour_ranges(hours)
            ~ " read its users' other hours, which have not been built for this run's window and parameters ("
            ~ problems | join('; ') ~ "): run all hours first with these vars (without hour_id; in Dagster,"
            ~ " all 24 partitions in one run), then single hours"
        ) -}}
    {%- endif -%}
    {%- do return('') -%}
{% endmacro %}


{#- What keeps an hour's stored rows from being this run's: nothing (''), 'never built', or the
    first of the names whose value differs, with both values. -#}
{% macro _hour_build_difference(stored, this_run, names) %}
    {%- if stored is none -%}
        {%- do return('never built') -%}
    {%- endif -%}
    {%- for name in names if stored.get(name) != this_run[name] -%}
        {%- do return('built for ' ~ name ~ ' ' ~ netflow_pca._shown_build_value(stored.get(name))
            ~ ', this run ' ~ netflow_pca._shown_build_value(this_run[name])) -%}
    {%- endfor -%}
    {%- do return('') -%}
{% endmacro %}


{#- A recorded value for people to read: run_date unset is null. -#}
{% macro _shown_build_value(value) %}
    {%- do return('unset' if value is none else netflow_pca.shown_value(value)) -%}
{% endmacro %}


{#- Hours as ranges for people to read: [0, 1, 2, 4] is "0-2, 4". -#}
{% macro _hour_ranges(hours) %}
    {%- set ranges = [] -%}
    {%- for hour in hours | sort -%}
        {%- if ranges and ranges[-1][1] == hour - 1 -%}
            {%- do ranges.append([ranges.pop()[0], hour]) -%}
        {%- else -%}
            {%- do ranges.append([hour, hour]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set shown = [] -%}
    {%- for first, last in ranges -%}
        {%- do shown.append(first ~ ('-' ~ last if last != first else '')) -%}
    {%- endfor -%}
    {%- do return(shown | join(', ')) -%}
{% endmacro %}
