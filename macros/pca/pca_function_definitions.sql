{#-
    The database functions the plpython and sql backends call, as a list of
    {name, language, tag, ddl} in the order to create them. Each DDL is complete: create or
    replace, then a comment holding the tag, a digest of the definition, by which a run tells an
    installed function of this version from a stale one. They are installed once by an administrator
    (`dbt run-operation install_pca_functions`), or by the run itself when it may.
-#}
{% macro pca_function_definitions(schema) %}
    {%- set quoted_schema = netflow_pca.quote_identifier(schema) -%}
    {%- set definitions = [] -%}
    {%- for name, language, signature, body in [
        ('pca_symmetric_eigen', 'plpgsql', '(matrix double precision[])', netflow_pca._pca_eigen_function()),
        ('pca_numpy_version', 'plpython3u', '()', netflow_pca._pca_numpy_version_function()),
        ('pca_fit_numpy', 'plpython3u', '(cells text, vals text, row_dim integer, col_dim integer,'
            ~ ' components integer, variance double precision)',
            netflow_pca._pca_fit_numpy_function()),
        ('pca_residual_scores_numpy', 'plpython3u', '(cells text, vals text, row_dim integer, n_users integer,'
            ~ ' min_active_days integer, damp_at double precision, collective_share double precision,'
            ~ ' collective_min_users integer, max_extreme_days integer, max_components integer)',
            netflow_pca._residual_scores_numpy_function()),
    ] -%}
        {%- set create = 'create or replace function ' ~ quoted_schema ~ '.' ~ name ~ signature ~ '\n' ~ body -%}
        {%- set tag = 'netflow_pca ' ~ local_md5(create) -%}
        {%- set comment = 'comment on function ' ~ quoted_schema ~ '.' ~ name ~ signature ~ ' is '
            ~ netflow_pca.sql_string_literal(tag) -%}
        {%- do definitions.append({'name': name, 'language': language, 'tag': tag, 'ddl': create ~ ';\n' ~ comment}) -%}
    {%- endfor -%}
    {%- do return(definitions) -%}
{% endmacro %}


{#- Eigen-decomposition of a symmetric matrix (a square 2-D array): Householder reduction to
    tridiagonal form, then the implicit QL method with Wilkinson shifts, accumulating the
    transformations. Returns the eigenvalues in decreasing order, and the unit eigenvectors in the
    same order as one flat array (vector k is elements (k - 1) m + 1 .. k m). Working arrays are
    flat, row-major, 1-based. -#}
{% macro _pca_eigen_function() %}
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


{#- The version of numpy inside PL/Python, or NULL where it does not import. -#}
{% macro _pca_numpy_version_function() %}
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


{#- One group's PCA with numpy, MADlib's semantics: densify (absent cells are zeros), centre the
    columns, take the eigenvectors of the smaller Gram matrix (rows x rows, then the components are
    X'U / sigma; or columns x columns), keep the components the rules keep, fix their signs.
    The cells come as text (comma-separated 0-based indices row * col_dim + column, and values),
    which numpy parses faster than PL/Python converts arrays to lists. Row 0 is the column means,
    rows 1.. the components, each as the text of a float8[] literal of 16 significant digits:
    within 1e-15, and parsed by PostgreSQL faster than Python's repr or hexadecimal floats, where
    a returned list would go through Python's str() and float8in one element at a time. -#}
{% macro _pca_fit_numpy_function() %}
returns table (row_id integer, principal_components text, std_dev double precision, proportion double precision)
language plpython3u immutable parallel safe
as $pca$
{%- set rules = netflow_pca.pca_numerical_rules() %}
NO_VARIANCE, ZERO_SHARE, SIGN_TOLERANCE = {{ rules.no_variance }}, {{ rules.zero_share }}, {{ rules.sign_tolerance }}
{% raw -%}
import numpy as np

if 'literals' not in SD:
    def lookup(strings, dtype):
        return np.frombuffer(b''.join(strings), dtype=dtype)

    SIGN_DIGIT = lookup([b'%s%d' % (sign, digit) for sign in (b'+', b'-') for digit in range(10)], '<u2')
    DOT_DIGIT = lookup([b'.%d' % digit for digit in range(10)], '<u2')
    DIGITS4 = lookup([b'%04d' % number for number in range(10000)], '<u4')
    DIGITS2 = lookup([b'%02d' % number for number in range(100)], '<u2')
    EXPONENT_SIGN = lookup([b'e+', b'e-'], '<u2')
    EXPONENT = lookup([b'%03d,' % number for number in range(400)], '<u4')

    def literals(matrix):
        """The rows of a matrix as float8[] literals of 16 significant digits, each element 24 bytes
        ('-1.234567890123456e-003,') written as aligned 2- and 4-byte words from lookup tables, the
        whole matrix at once. Within 1e-15 of each value; below 1e-290 in magnitude, 0."""
        values = np.ascontiguousarray(matrix, dtype=np.float64).ravel()
        magnitude = np.abs(values)
        normal = magnitude >= 1e-290
        exponent = np.zeros(values.size, dtype=np.int64)
        exponent[normal] = np.floor(np.log10(magnitude[normal])).astype(np.int64)
        mantissa = np.where(normal, np.rint(magnitude * np.power(10.0, 15 - exponent)), 0).astype(np.int64)
        carry = mantissa >= 10 ** 16
        mantissa[carry] //= 10
        exponent[carry] += 1
        out = np.empty((values.size, 12), dtype='<u2')
        words = out.view('<u4')
        out[:, 8] = DIGITS2[mantissa % 100]
        mantissa //= 100
        for word in (3, 2, 1):
            words[:, word] = DIGITS4[mantissa % 10000]
            mantissa //= 10000
        out[:, 0] = SIGN_DIGIT[np.signbit(values) * 10 + mantissa // 10]
        out[:, 1] = DOT_DIGIT[mantissa % 10]
        out[:, 9] = EXPONENT_SIGN[(exponent < 0).astype(np.intp)]
        words[:, 5] = EXPONENT[np.abs(exponent)]
        width = matrix.shape[1] * 24
        text = out.view(np.uint8).reshape(matrix.shape[0], width)
        text[:, -1] = ord('}')
        buffer = memoryview(text).cast('B')
        return ['{' + str(buffer[k * width:(k + 1) * width], 'ascii') for k in range(matrix.shape[0])]

    SD['literals'] = literals

n, p = row_dim, col_dim
index = np.fromstring(cells or '', dtype=np.int64, sep=',')
values = np.fromstring(vals or '', dtype=np.float64, sep=',')
if index.size and (index.min() < 0 or index.max() >= n * p):
    plpy.error('pca_fit_numpy: a cell lies outside row_dim x col_dim')
counts = np.bincount(index, minlength=n * p)
if index.size and counts.max() > 1:
    first = int(np.argmax(counts > 1))
    plpy.error('pca_sparse_train: duplicate entries for (row %d, column %d) in the source' % (first // p + 1, first % p + 1))
x = np.zeros(n * p)
x[index] = values
x = x.reshape(n, p)
mean = x.mean(axis=0)
centred = x - mean
total = float(np.einsum('ij,ij->', centred, centred))
result = [(0, SD['literals'](mean[None, :])[0], None, None)]
if n < 2 or total <= NO_VARIANCE * float(np.einsum('ij,ij->', x, x)):
    return result

if n <= p:
    eigenvalues, u = np.linalg.eigh(centred @ centred.T)
else:
    eigenvalues, u = np.linalg.eigh(centred.T @ centred)
eigenvalues, u = eigenvalues[::-1], u[:, ::-1]
rank = int(np.count_nonzero(eigenvalues > ZERO_SHARE * total))
if components is not None:
    kept = min(components, rank)
else:
    kept = min(rank, 1 + int(np.count_nonzero(np.cumsum(eigenvalues) < variance * total)))
eigenvalues = eigenvalues[:kept]
sigma = np.sqrt(eigenvalues)
if n <= p:
    vectors = np.ascontiguousarray((np.ascontiguousarray(centred.T) @ (u[:, :kept] / sigma)).T)
else:
    vectors = np.ascontiguousarray(u[:, :kept].T)

magnitude = np.abs(vectors)
largest = np.argmax(magnitude >= (1 - SIGN_TOLERANCE) * magnitude.max(axis=1, keepdims=True), axis=1)
vectors *= np.where(vectors[np.arange(kept), largest] < 0, -1.0, 1.0)[:, None]
literals = SD['literals'](vectors) if kept else []
std_dev = sigma / np.sqrt(n - 1)
return result + [(k + 1, literals[k], float(std_dev[k]), min(1.0, float(eigenvalues[k] / total))) for k in range(kept)]
{%- endraw %}
$pca$
{% endmacro %}
