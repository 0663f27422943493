{#-
    A view that every invocation builds, whatever hours it runs (the staging models): left as it
    is when its definition is unchanged, otherwise replaced by one run at a time
    (build_shared_relation).
-#}
{%- materialization shared_view, default -%}
    {{ return(netflow_pca.build_shared_relation('view')) }}
{%- endmaterialization -%}
