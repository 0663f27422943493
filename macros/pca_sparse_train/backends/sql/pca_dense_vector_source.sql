{#- A line of the sparse matrix as a dense vector: element short_ids[i] is vals[i], the others 0,
    for short ids sorted ascending within 1..m (pca_arguments checks the range); null where a
    short id repeats, which the sql backend reports as a duplicate entry. -#}
{% macro pca_dense_vector_source() %}
returns double precision[]
language plpgsql immutable strict parallel safe
as $pca$
declare
    dense double precision[] := array_fill(0::double precision, array[m]);
    previous integer := 0;
    i integer;
begin
    for i in 1..coalesce(array_length(short_ids, 1), 0) loop
        if short_ids[i] = previous then
            return null;
        end if;
        dense[short_ids[i]] := vals[i];
        previous := short_ids[i];
    end loop;
    return dense;
end
$pca$
{% endmacro %}
