{#- The unit eigenvectors of the leading `wanted` eigenvalues of a symmetric matrix, from what
    pca_symmetric_eigenvalues returned for it, as one flat array (vector k is elements
    (k - 1) m + 1 .. k m). Inverse iteration on the tridiagonal T, as LAPACK's dstein does it: an
    LU factorisation of T - lambda I with partial pivoting (T scaled to |T| = 1, tiny pivots
    raised to eps), three solves from a fixed pseudo-random start, a shift that moves apart
    eigenvalues closer than 10 eps |T|, and each vector orthogonalised against the earlier ones of
    its cluster (eigenvalues within 1e-3 |T| of the previous one); then the Householder reflections
    map it back, z = Q y. -#}
{% macro pca_symmetric_eigenvectors_source() %}
returns double precision[]
language plpgsql immutable strict parallel safe
as $pca$
declare
    m integer := coalesce(array_length(eigenvalues, 1), 0);
    d double precision[];      -- T's diagonal
    e double precision[];      -- T's subdiagonal
    dd double precision[];     -- U's diagonal, then its first and second superdiagonals
    du double precision[];
    du2 double precision[];
    dl double precision[];     -- L's multipliers
    swapped boolean[];         -- rows i and i + 1 exchanged by the pivoting
    x double precision[];
    ys double precision[];     -- the vectors in T's basis, flat
    result double precision[];
    i integer; j integer; k integer; c integer; o integer; solve integer; cluster_start integer := 1;
    lambda double precision; shift double precision; t double precision; f double precision;
    norm double precision := 0;
    eps constant double precision := 2.220446049250313e-16;
begin
    if wanted < 0 or wanted > m then
        raise exception 'pca_symmetric_eigenvectors: wanted % is outside 0 .. %', wanted, m;
    end if;
    if coalesce(array_length(reduced, 1), 0) <> 3 * m + m * m then
        raise exception 'pca_symmetric_eigenvectors: reduced has % elements, expected % for % eigenvalues',
            coalesce(array_length(reduced, 1), 0), 3 * m + m * m, m;
    end if;
    if wanted = 0 then
        return array[]::double precision[];
    end if;
    d := reduced[1:m];
    e := reduced[m + 1:2 * m];
    for i in 1..m loop
        norm := greatest(norm, abs(d[i]) + abs(e[i]) + case when i > 1 then abs(e[i - 1]) else 0 end);
    end loop;
    if norm = 0 then
        norm := 1;
    end if;
    -- T / |T| has the same eigenvectors, and no solve with it can overflow, however small T is
    for i in 1..m loop
        d[i] := d[i] / norm;
        e[i] := e[i] / norm;
    end loop;
    ys := array_fill(0::double precision, array[wanted * m]);
    result := array_fill(0::double precision, array[wanted * m]);

    for j in 1..wanted loop
        lambda := eigenvalues[j] / norm;
        if j > 1 then
            if (eigenvalues[j - 1] - eigenvalues[j]) / norm > 1e-3 then
                cluster_start := j;
            end if;
            lambda := least(lambda, shift - 10 * eps);
        end if;
        shift := lambda;

        -- T - lambda I = P L U (LAPACK's dgttrf)
        dd := array_fill(0::double precision, array[m]);
        du := array_fill(0::double precision, array[m]);
        du2 := array_fill(0::double precision, array[m]);
        dl := array_fill(0::double precision, array[m]);
        swapped := array_fill(false, array[m]);
        for i in 1..m loop
            dd[i] := d[i] - lambda;
            dl[i] := e[i];
            du[i] := e[i];
        end loop;
        for i in 1..m - 1 loop
            if abs(dd[i]) >= abs(dl[i]) then
                if dd[i] <> 0 then
                    f := dl[i] / dd[i];
                    dl[i] := f;
                    dd[i + 1] := dd[i + 1] - f * du[i];
                end if;
            else
                swapped[i] := true;
                f := dd[i] / dl[i];
                dd[i] := dl[i];
                dl[i] := f;
                t := du[i];
                du[i] := dd[i + 1];
                dd[i + 1] := t - f * dd[i + 1];
                if i < m - 1 then
                    du2[i] := du[i + 1];
                    du[i + 1] := -f * du[i + 1];
                end if;
            end if;
        end loop;
        for i in 1..m loop
            if abs(dd[i]) < eps then
                dd[i] := case when dd[i] < 0 then -eps else eps end;
            end if;
        end loop;

        x := array_fill(0::double precision, array[m]);
        for i in 1..m loop
            x[i] := ((i * 1103515245::bigint + j * 12345) % 65537) / 65537.0 - 0.5;
        end loop;
        for solve in 1..3 loop
            for i in 1..m - 1 loop
                if swapped[i] then
                    t := x[i];
                    x[i] := x[i + 1];
                    x[i + 1] := t - dl[i] * x[i];
                else
                    x[i + 1] := x[i + 1] - dl[i] * x[i];
                end if;
            end loop;
            x[m] := x[m] / dd[m];
            if m > 1 then
                x[m - 1] := (x[m - 1] - du[m - 1] * x[m]) / dd[m - 1];
            end if;
            for i in reverse m - 2..1 loop
                x[i] := (x[i] - du[i] * x[i + 1] - du2[i] * x[i + 2]) / dd[i];
            end loop;
            for c in cluster_start..j - 1 loop
                t := 0;
                for i in 1..m loop
                    t := t + ys[(c - 1) * m + i] * x[i];
                end loop;
                for i in 1..m loop
                    x[i] := x[i] - t * ys[(c - 1) * m + i];
                end loop;
            end loop;
            t := 0;
            for i in 1..m loop
                t := t + x[i] * x[i];
            end loop;
            t := sqrt(t);
            if t = 0 or t = 'Infinity' then
                raise exception 'pca_symmetric_eigenvectors: inverse iteration failed for eigenvalue %', j;
            end if;
            for i in 1..m loop
                x[i] := x[i] / t;
            end loop;
        end loop;
        for i in 1..m loop
            ys[(j - 1) * m + i] := x[i];
        end loop;

        -- z = H_1 (H_2 (... H_{m-2} y))
        for k in reverse m - 2..1 loop
            f := reduced[2 * m + k];
            continue when f = 0;
            o := 3 * m + (k - 1) * m;
            t := 0;
            for i in k + 1..m loop
                t := t + reduced[o + i] * x[i];
            end loop;
            t := t * f;
            for i in k + 1..m loop
                x[i] := x[i] - t * reduced[o + i];
            end loop;
        end loop;
        for i in 1..m loop
            result[(j - 1) * m + i] := x[i];
        end loop;
    end loop;
    return result;
end
$pca$
{% endmacro %}
