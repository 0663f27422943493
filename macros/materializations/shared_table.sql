{#-
    A small table that every invocation builds, whatever hours it runs (a window, a calendar):
    left as it is when its columns and rows are unchanged, otherwise replaced by one run at a time
    (build_shared_relation). The comparison reads both tables whole: keep such tables small.
-#}
{%- materialization shared_table, default -%}
    {{ return(netflow_pca.build_shared_relation('table')) }}
{%- endmaterialization -%}
