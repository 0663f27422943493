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
    which numpy parses faster than PL/Python converts arrays to lists. Each component goes back as
    the text of a float8[] literal in hexadecimal floating point: exact, and parsed by PostgreSQL
    faster than any decimal form, where a returned list would go through Python's str() and
    float8in one element at a time. -#}
{% macro _pca_fit_numpy_function() %}
returns table (row_id integer, principal_components text, std_dev double precision, proportion double precision)
language plpython3u immutable parallel safe
as $pca$
{%- set rules = netflow_pca.pca_numerical_rules() %}
NO_VARIANCE, ZERO_SHARE, SIGN_TOLERANCE = {{ rules.no_variance }}, {{ rules.zero_share }}, {{ rules.sign_tolerance }}
{% raw -%}
import numpy as np

if 'hex_literals' not in SD:
    def lookup_tables():
        """By the top 16 bits of a double (sign, exponent, first hex digit): its text before and after
        the other 12 hex digits; and the 4 hex digits of any 16 bits."""
        heads, tails = [], []
        for top in range(1 << 16):
            biased = (top >> 4) & 0x7FF
            exponent = biased - 1023 if biased else -1022
            heads.append(b'  %s0x%d.%x' % (b'-' if top >> 15 else b'+', biased > 0, top & 0xF))
            tails.append(b'p%s%04d, ' % (b'-' if exponent < 0 else b'+', abs(exponent)))
        tails = np.frombuffer(b''.join(tails), dtype='<u4').reshape(-1, 2)
        hex4 = np.frombuffer(b''.join(b'%04x' % i for i in range(1 << 16)), dtype='<u4')
        return np.frombuffer(b''.join(heads), dtype='<u8'), tails[:, 0].copy(), tails[:, 1].copy(), hex4

    HEAD, TAIL1, TAIL2, HEX4 = lookup_tables()
    BLANKS = np.frombuffer(b'    ', dtype='<u4')[0]

    def hex_literals(matrix):
        """The rows of a matrix as float8[] literals in hexadecimal floating point, exact. Each element
        takes 32 bytes, '  +0x1.999999999999ap-0004,    ', eight aligned words looked up by the
        four 16-bit parts of the double; then each row's first blank becomes '{' and its last comma '}'."""
        parts = np.ascontiguousarray(matrix, dtype=np.float64).view('<u2').reshape(-1, 4)
        out = np.empty((parts.shape[0], 4), dtype='<u8')
        out[:, 0] = HEAD[parts[:, 3]]
        words = out.view('<u4')
        for word, part in ((2, 2), (3, 1), (4, 0)):
            words[:, word] = HEX4[parts[:, part]]
        words[:, 5] = TAIL1[parts[:, 3]]
        words[:, 6] = TAIL2[parts[:, 3]]
        words[:, 7] = BLANKS
        width = matrix.shape[1] * 32
        text = out.view(np.uint8).reshape(matrix.shape[0], width)
        text[:, 0] = ord('{')
        text[:, -6] = ord('}')
        buffer = memoryview(text).cast('B')
        return [str(buffer[k * width:(k + 1) * width - 5], 'ascii') for k in range(matrix.shape[0])]

    SD['hex_literals'] = hex_literals

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
centred = x - x.mean(axis=0)
total = float(np.einsum('ij,ij->', centred, centred))
if n < 2 or total <= NO_VARIANCE * float(np.einsum('ij,ij->', x, x)):
    return []

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
literals = SD['hex_literals'](vectors) if kept else []
std_dev = sigma / np.sqrt(n - 1)
return [(k + 1, literals[k], float(std_dev[k]), float(eigenvalues[k] / total)) for k in range(kept)]
{%- endraw %}
$pca$
{% endmacro %}
