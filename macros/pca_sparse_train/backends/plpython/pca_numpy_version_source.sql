{#- The version of numpy inside PL/Python, or NULL where it does not import. -#}
{% macro pca_numpy_version_source() %}
returns text
language plpython3u volatile parallel safe
as $pca$
try:
    import numpy
except Exception:
    return None
return numpy.__version__
$pca$
{% endmacro %}
