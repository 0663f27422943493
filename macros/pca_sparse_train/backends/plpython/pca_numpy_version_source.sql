{#- The version of numpy inside PL/Python, or NULL where it does not import. -#}
{% macro pca_numpy_version_source() %}
returns text
language plpython3u volatile parallel safe
as $pca$
try:
    {{ netflow_pca.plpython_numpy_import() | indent(4) }}
except Exception:
    return None
return np.__version__
$pca$
{% endmacro %}
