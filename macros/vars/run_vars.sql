{#-
    The run configuration, validated. Every var that reaches SQL is read through this macro, so a
    bad value stops dbt while it parses the project, before anything touches the database, with a
    message that names the var.
-#}
{% macro run_vars() %}
    {%- do return({
        'hour_id': netflow_pca.validated_hour_id(),
        'run_date': netflow_pca._date_var('run_date'),
        'lookback_days': netflow_pca._integer_var('lookback_days', 1, 36600),
        'recount_days': netflow_pca._optional_integer_var('recount_days', 0, 36600),
        'variance_target': netflow_pca._components_var('variance_target'),
        'scoring_methods': netflow_pca._scoring_methods_var('scoring_method'),
        'loading_threshold': netflow_pca._number_var('loading_threshold', 0, none),
        'residual_threshold': netflow_pca._number_var('residual_threshold', 0, none),
        'residual_max_components': netflow_pca._integer_var('residual_max_components', 1, 1000),
        'residual_min_active_days': netflow_pca._integer_var('residual_min_active_days', 1, 36600),
        'residual_damp_at': netflow_pca._number_var('residual_damp_at', 0, none),
        'residual_collective_share': netflow_pca._number_var('residual_collective_share', 0, 1),
        'residual_collective_min_users': netflow_pca._integer_var('residual_collective_min_users', 1, 2147483647),
        'residual_max_extreme_days': netflow_pca._integer_var('residual_max_extreme_days', 0, 36600),
        'residual_run_at': netflow_pca._number_var('residual_run_at', 0, none),
        'residual_max_run_days': netflow_pca._integer_var('residual_max_run_days', 1, 36600),
        'pca_backend': netflow_pca._choice_var('pca_backend', ['auto', 'madlib', 'plpython', 'sql']),
        'pca_functions_schema': netflow_pca._identifier_var('pca_functions_schema', target.schema),
        'madlib_schema': netflow_pca._identifier_var('madlib_schema'),
        'timezone': netflow_pca._text_var('timezone'),
        'events_schema': netflow_pca._identifier_var('events_schema', target.schema),
        'events_table': netflow_pca._identifier_var('events_table'),
        'user_column': netflow_pca._identifier_var('user_column'),
        'time_column': netflow_pca._identifier_var('time_column'),
    }) -%}
{% endmacro %}


{% macro _integer_var(name, minimum, maximum) %}
    {%- set value = var(name) -%}
    {%- set number = netflow_pca.integer_or_none(value) -%}
    {%- if number is none or number < minimum or number > maximum -%}
        {{- netflow_pca.invalid_var(name, value, 'an integer from ' ~ minimum ~ ' to ' ~ maximum) -}}
    {%- endif -%}
    {%- do return(number) -%}
{% endmacro %}


{% macro _optional_integer_var(name, minimum, maximum) %}
    {%- if var(name, none) is none -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- do return(netflow_pca._integer_var(name, minimum, maximum)) -%}
{% endmacro %}


{% macro _number_var(name, exclusive_minimum, maximum) %}
    {%- set value = var(name) -%}
    {%- set number = netflow_pca.number_or_none(value) -%}
    {%- if number is none or number <= exclusive_minimum or (maximum is not none and number > maximum) -%}
        {{- netflow_pca.invalid_var(name, value, 'a number greater than ' ~ exclusive_minimum
            ~ (' and at most ' ~ maximum if maximum is not none else '')) -}}
    {%- endif -%}
    {%- do return(number) -%}
{% endmacro %}


{% macro _components_var(name) %}
    {#- as MADlib's components_param: an integer is a number of components, a fraction in (0, 1]
        the share of variance to keep -#}
    {%- set value = var(name) -%}
    {%- set number = netflow_pca.number_or_none(value) -%}
    {%- set is_count = value is integer and number is not none and number >= 1 -%}
    {%- set is_fraction = value is not integer and number is not none and 0 < number <= 1 -%}
    {%- if not (is_count or is_fraction) -%}
        {{- netflow_pca.invalid_var(name, value,
            'a fraction of variance in (0, 1] or a whole number of components of at least 1') -}}
    {%- endif -%}
    {%- do return(number) -%}
{% endmacro %}


{% macro _date_var(name) %}
    {%- set value = var(name, none) -%}
    {%- if value is none -%}
        {%- do return(none) -%}
    {%- endif -%}
    {#- YAML reads an unquoted 2017-01-14 as a date: accept it as its ISO text -#}
    {%- set text = value.isoformat() if value is not string and value.isoformat is defined else value -%}
    {%- set match = modules.re.fullmatch('([0-9]{4})-([0-9]{2})-([0-9]{2})', text) if text is string else none -%}
    {%- if not match -%}
        {{- netflow_pca.invalid_var(name, value, 'a date as YYYY-MM-DD') -}}
    {%- endif -%}
    {%- set year, month, day = match.group(1) | int, match.group(2) | int, match.group(3) | int -%}
    {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
    {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- if year < 1 or month < 1 or month > 12 or day < 1 or day > month_days[month - 1] -%}
        {{- netflow_pca.invalid_var(name, value, 'a calendar date as YYYY-MM-DD') -}}
    {%- endif -%}
    {%- do return(text) -%}
{% endmacro %}


{% macro _choice_var(name, choices) %}
    {%- set value = var(name) -%}
    {%- if value not in choices -%}
        {{- netflow_pca.invalid_var(name, value, 'one of ' ~ choices | join(', ')) -}}
    {%- endif -%}
    {%- do return(value) -%}
{% endmacro %}


{#- residual, loading or both: the list of methods to score with -#}
{% macro _scoring_methods_var(name) %}
    {%- set value = netflow_pca._choice_var(name, ['residual', 'loading', 'both']) -%}
    {%- do return(['residual', 'loading'] if value == 'both' else [value]) -%}
{% endmacro %}


{% macro _text_var(name) %}
    {%- set value = var(name) -%}
    {%- if value is not string or not modules.re.fullmatch('[A-Za-z0-9_+/:.-]{1,64}', value) -%}
        {{- netflow_pca.invalid_var(name, value, 'a name of letters, digits and _ + - / : .') -}}
    {%- endif -%}
    {%- do return(value) -%}
{% endmacro %}


{% macro _identifier_var(name, default=none) %}
    {#- Identifiers are quoted wherever they are used; quote characters and control characters
        are refused because dbt's relation quoting does not escape them. -#}
    {%- set value = var(name, none) -%}
    {%- if value is none and default is not none -%}
        {%- do return(default) -%}
    {%- endif -%}
    {%- if value is not string or value | length == 0 or value | length > 63
            or modules.re.search('["\'\\x00-\\x1f\\x7f]', value) -%}
        {{- netflow_pca.invalid_var(name, value,
            'a PostgreSQL name of 1 to 63 characters without quotes or control characters') -}}
    {%- endif -%}
    {%- do return(value) -%}
{% endmacro %}
