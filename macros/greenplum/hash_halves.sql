{#- The conditions on a 32-bit hash (hashtext, hashint4) that split a relation's rows into two
    halves, for a UNION ALL of a group-by per half that PostgreSQL runs side by side as a
    Parallel Append; a single part (none: no condition) on Greenplum, whose segments share the
    work already. -#}
{% macro hash_halves() %}
    {%- do return([none] if netflow_pca.is_greenplum() else ['< 0', '>= 0']) -%}
{% endmacro %}
