{#- Eigen-decomposition of a symmetric matrix (a square 2-D array): Householder reduction to
    tridiagonal form, then the implicit QL method with Wilkinson shifts, accumulating the
    transformations. Returns the eigenvalues in decreasing order, and the unit eigenvectors in the
    same order as one flat array (vector k is elements (k - 1) m + 1 .. k m). Working arrays are
    flat, row-major, 1-based. -#}
{% macro pca_symmetric_eigen_source() %}
returns table (eigenvalues double precision[], eigenvectors double precision[])
language plpgsql immutable strict parallel safe
as $pca$
declare
    m integer := coalesce(array_length(matrix, 1), 0);
    a double precision[];   -- the matrix, reduced in place to tridiagonal form
    w double precision[];   -- the accumulated orthogonal transformation, transposed: row k is vector k
    d double precision[];   -- the diagonal, then the eigenvalues
    e double precision[];   -- e[i] = T[i, i + 1]
    v double precision[];   -- a Householder vector
    p double precision[];
    ranked integer[];
    sorted_values double precision[];
    sorted_vectors double precision[];
    i integer; j integer; k integer; l integer; n integer; iteration integer;
    alpha double precision; beta double precision; scale double precision; t double precision;
    s double precision; c double precision; f double precision; g double precision;
    b double precision; r double precision;
    eps constant double precision := 2.220446049250313e-16;
begin
    if m = 0 then
        return query select array[]::double precision[], array[]::double precision[];
        return;
    end if;
    if array_ndims(matrix) <> 2 or array_length(matrix, 2) <> m then
        raise exception 'pca_symmetric_eigen: expected a square matrix, got dimensions %', array_dims(matrix);
    end if;
    a := array_fill(0::double precision, array[m * m]);
    w := array_fill(0::double precision, array[m * m]);
    for i in 1..m loop
        for j in 1..m loop
            a[(i - 1) * m + j] := matrix[i][j];
        end loop;
        w[(i - 1) * m + i] := 1;
    end loop;

    -- Householder: H = I - 2 v v' / beta zeroes column k below row k + 1; A := H A H, W := H W
    for k in 1..m - 2 loop
        scale := 0;
        for i in k + 1..m loop
            scale := scale + abs(a[(i - 1) * m + k]);
        end loop;
        continue when scale = 0;
        v := array_fill(0::double precision, array[m]);
        t := 0;
        for i in k + 1..m loop
            v[i] := a[(i - 1) * m + k] / scale;
            t := t + v[i] * v[i];
        end loop;
        alpha := case when v[k + 1] >= 0 then -sqrt(t) else sqrt(t) end;
        beta := 2 * (t - alpha * v[k + 1]);
        v[k + 1] := v[k + 1] - alpha;
        -- with p = 2 A v / beta and q = p - (v'p / beta) v: H A H = A - v q' - q v'
        p := array_fill(0::double precision, array[m]);
        for i in k + 1..m loop
            t := 0;
            for j in k + 1..m loop
                t := t + a[(i - 1) * m + j] * v[j];
            end loop;
            p[i] := 2 * t / beta;
        end loop;
        t := 0;
        for i in k + 1..m loop
            t := t + v[i] * p[i];
        end loop;
        t := t / beta;
        for i in k + 1..m loop
            p[i] := p[i] - t * v[i];
        end loop;
        for i in k + 1..m loop
            for j in k + 1..i loop
                t := a[(i - 1) * m + j] - v[i] * p[j] - p[i] * v[j];
                a[(i - 1) * m + j] := t;
                a[(j - 1) * m + i] := t;
            end loop;
        end loop;
        a[k * m + k] := alpha * scale;
        a[(k - 1) * m + k + 1] := alpha * scale;
        for i in k + 2..m loop
            a[(i - 1) * m + k] := 0;
            a[(k - 1) * m + i] := 0;
        end loop;
        for j in 1..m loop
            t := 0;
            for i in k + 1..m loop
                t := t + v[i] * w[(i - 1) * m + j];
            end loop;
            continue when t = 0;
            t := 2 * t / beta;
            for i in k + 1..m loop
                w[(i - 1) * m + j] := w[(i - 1) * m + j] - t * v[i];
            end loop;
        end loop;
    end loop;

    d := array_fill(0::double precision, array[m]);
    e := array_fill(0::double precision, array[m]);
    for i in 1..m loop
        d[i] := a[(i - 1) * m + i];
        if i < m then
            e[i] := a[i * m + i];
        end if;
    end loop;

    -- implicit QL: deflate from the top; each sweep chases a Wilkinson-shifted rotation up
    -- from row n and applies it to rows i, i + 1 of w
    for l in 1..m loop
        iteration := 0;
        loop
            n := l;
            while n < m and abs(e[n]) > eps * (abs(d[n]) + abs(d[n + 1])) loop
                n := n + 1;
            end loop;
            exit when n = l;
            iteration := iteration + 1;
            if iteration > 100 then
                raise exception 'pca_symmetric_eigen: no convergence for eigenvalue %', l;
            end if;
            g := (d[l + 1] - d[l]) / (2 * e[l]);
            r := sqrt(g * g + 1);
            g := d[n] - d[l] + e[l] / (g + case when g >= 0 then r else -r end);
            s := 1;
            c := 1;
            t := 0;
            i := n - 1;
            while i >= l loop
                f := s * e[i];
                b := c * e[i];
                r := sqrt(f * f + g * g);
                e[i + 1] := r;
                exit when r = 0;
                s := f / r;
                c := g / r;
                g := d[i + 1] - t;
                r := (d[i] - g) * s + 2 * c * b;
                t := s * r;
                d[i + 1] := g + t;
                g := c * r - b;
                for j in 1..m loop
                    f := w[i * m + j];
                    w[i * m + j] := s * w[(i - 1) * m + j] + c * f;
                    w[(i - 1) * m + j] := c * w[(i - 1) * m + j] - s * f;
                end loop;
                i := i - 1;
            end loop;
            if r = 0 and i >= l then
                d[i + 1] := d[i + 1] - t;
                e[n] := 0;
                continue;
            end if;
            d[l] := d[l] - t;
            e[l] := g;
            e[n] := 0;
        end loop;
    end loop;

    select array_agg(position order by value desc, position) into ranked
    from unnest(d) with ordinality as eigen (value, position);
    sorted_values := array_fill(0::double precision, array[m]);
    sorted_vectors := array_fill(0::double precision, array[m * m]);
    for k in 1..m loop
        sorted_values[k] := d[ranked[k]];
        for j in 1..m loop
            sorted_vectors[(k - 1) * m + j] := w[(ranked[k] - 1) * m + j];
        end loop;
    end loop;
    return query select sorted_values, sorted_vectors;
end
$pca$
{% endmacro %}
