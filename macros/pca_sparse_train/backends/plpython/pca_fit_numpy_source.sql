{#- One group's PCA with numpy, MADlib's semantics: densify (absent cells are zeros), centre the
    columns, take the eigenvectors of the smaller Gram matrix (rows x rows, then the components are
    X'U / sigma; or columns x columns), keep the components the rules keep, fix their signs.
    The cells come as text (comma-separated 0-based indices row * col_dim + column, and values),
    which numpy parses faster than PL/Python converts arrays to lists. Row 0 is the column means,
    rows 1.. the components, each as the text of a float8[] literal of 16 significant digits:
    within 1e-15, and parsed by PostgreSQL faster than Python's repr or hexadecimal floats, where
    a returned list would go through Python's str() and float8in one element at a time. -#}
{% macro pca_fit_numpy_source() %}
returns table (row_id integer, principal_components text, std_dev double precision, proportion double precision)
language plpython3u immutable parallel safe
as $pca$
{%- set rules = netflow_pca.pca_numerical_rules() %}
NO_VARIANCE, ZERO_SHARE, SIGN_TOLERANCE = {{ rules.no_variance }}, {{ rules.zero_share }}, {{ rules.sign_tolerance }}
{{ netflow_pca.plpython_numpy_import() }}
{% raw -%}

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
