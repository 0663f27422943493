{#- How many per-user loadings a set-based residual model needs: as many as `largest` (the
    largest component number that still carries a loading, a column or expression of `relation`,
    on its rows where `condition` holds) over the hours this run builds, between 1 and
    residual_most_components. The loadings past it are null in every hour and add nothing to a
    projection. While executing a model on the sql route only; otherwise, or where `relation` is
    not built yet (a compile alone), residual_most_components, so the SQL keeps every loading. -#}
{% macro residual_loadings_needed(relation, largest, condition=none) -%}
    {%- set most_components = netflow_pca.residual_most_components() -%}
    {%- if not (execute and model.resource_type == 'model' and netflow_pca.residual_scoring_route() == 'sql') -%}
        {%- do return(most_components) -%}
    {%- endif -%}
    {%- set built = load_relation(relation) -%}
    {%- if built is none -%}
        {%- do return(most_components) -%}
    {%- endif -%}
    {%- set found = run_query('select max(' ~ largest ~ ') from ' ~ built ~ ' where '
        ~ (condition ~ ' and ' if condition else '') ~ netflow_pca.hour_filter('hour_of_day')).rows[0][0] -%}
    {%- do return([[found or 1, most_components] | min, 1] | max) -%}
{%- endmacro %}
