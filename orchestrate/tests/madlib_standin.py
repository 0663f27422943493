"""A stand-in for Apache MADlib 2.1.0's pca_sparse_train, for servers where MADlib is not installed.

It does what MADlib's own Python does (modules/pca/pca.py_in, pca_wrap and _pca_union, with the
helpers of utilities/validate_args.py_in, utilities/utilities.py_in and linalg/matrix_ops.py_in)
in every way a caller can trip over:
- names are pasted into SQL unquoted: table names, the row, column and value columns, the
  grouping columns, and each group's values (`key=value` conditions, `value AS key` selects);
- the row id and grouping columns are compared with the table's column names as quote_ident
  renders them, so that a quoted plain name (`"r"`) fails: without grouping with
  `ValueError: list.remove(x): x not in list`, with grouping with a syntax error in its CREATE
  TABLE of the output (an empty grouping column list);
- its argument checks and their messages; the output tables must not exist;
- its output layout (the grouping columns in the table's order, with information_schema's type
  names), its rule for a fraction of variance and for lanczos_iter, a division by zero on a group
  without variance, and random signs.
The SVD itself is numpy's, exact (MADlib's Lanczos is exact when lanczos_iter is the smaller
dimension, as the project passes). Each call is logged in the table `calls` of its schema.
"""

from __future__ import annotations

from typing import Any

_STANDIN = r"""
create table @schema@.calls (
    source_table text, out_table text, row_id text, col_id text, val_id text,
    components integer, variance double precision, grouping_cols text, lanczos_iter integer
);

create function @schema@.pca_sparse_train(source_table text, pc_table text, row_id text, col_id text, val_id text,
    row_dim integer, col_dim integer, k integer, grouping_cols text, lanczos_iter integer, use_correlation boolean,
    result_summary_table text, variance double precision) returns void language plpython3u as $standin$
import re
import numpy as np

plpy.execute(plpy.prepare('insert into @schema@.calls values ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    ['text', 'text', 'text', 'text', 'text', 'integer', 'double precision', 'text', 'integer']),
    [source_table, pc_table, row_id, col_id, val_id, k, variance, grouping_cols, lanczos_iter])

def unquote_ident(name):
    name = name.strip()
    if name.startswith('"') and name.endswith('"'):
        return re.sub(r'""', r'"', name[1:-1])
    return name.lower()

def table_exists(table, only_first_schema=False):
    names = table.split('.')
    if len(names) == 1:
        query = 'SELECT current_schema() AS cs' if only_first_schema else 'SELECT current_schemas(True) AS cs'
        found = plpy.execute(query)[0]['cs']
        schemas = "('{0}')".format("','".join(unquote_ident(s) for s in ([found] if only_first_schema else found)))
    elif len(names) == 2:
        schemas = "('" + unquote_ident(names[0]) + "')"
    else:
        plpy.error('Incorrect table name ({0}) provided! Table name should be of the form: '
                   '<schema name>.<table name>'.format(table))
    schema_expr = "LIKE 'pg_temp%'" if schemas == "('pg_temp')" else 'IN {0}'.format(schemas)
    return plpy.execute('''SELECT EXISTS(SELECT 1 FROM pg_class, pg_namespace WHERE relnamespace = pg_namespace.oid
        AND nspname {0} AND relname = '{1}' AND relkind IN ('r', 'v', 'm', 't', 'f')) AS e'''.format(
        schema_expr, unquote_ident(names[-1])))[0]['e']

def get_cols(table):
    return plpy.execute('''SELECT array_agg(quote_ident(attname)::varchar ORDER BY attnum) AS cols FROM pg_attribute
        WHERE attrelid = '{0}'::regclass AND NOT attisdropped AND attnum > 0'''.format(table))[0]['cols']

def get_cols_and_types(table):
    where = plpy.execute('''SELECT nspname AS s, relname AS t FROM pg_class AS c, pg_namespace AS nsp
        WHERE c.oid = '{0}'::regclass::oid AND c.relnamespace = nsp.oid'''.format(table))[0]
    found = plpy.execute('''SELECT array_agg(quote_ident(column_name)::varchar ORDER BY ordinal_position) AS cols,
        array_agg(data_type::varchar ORDER BY ordinal_position) AS types FROM information_schema.columns
        WHERE table_name = '{0}' AND table_schema = '{1}' '''.format(where['t'], where['s']))[0]
    return list(zip(found['cols'], found['types']))

def columns_exist_in_table(table, cols):
    existing = set(unquote_ident(c) for c in get_cols(table))
    return all(c and unquote_ident(c) in existing for c in cols)

def split_quoted_delimited_str(text):
    pattern = re.compile('((?:[^\\,\\"]|\\"[^\\"]*\\")+)')
    return [part.strip() for part in pattern.split(text.strip())[1::2]]

def add_postfix(name, postfix):
    name = name.strip()
    return name[:-1] + postfix + '"' if name.startswith('"') and name.endswith('"') else name + postfix

# _validate_args
if source_table is None or not table_exists(source_table):
    plpy.error('PCA error: Source data table {0} does not exist!'.format(source_table))
if (not k and not variance) or (k and k <= 0) or (variance and (variance <= 0 or variance > 1)):
    plpy.error('PCA error: components_param must be either a positive integer or a float in the range (0.0,1.0]!')
if table_exists(pc_table, only_first_schema=True) or table_exists(pc_table + '_mean', only_first_schema=True):
    plpy.error('PCA error: Output table {0}/{0}_mean already exist!'.format(pc_table))
for column in (row_id, col_id, val_id):
    if not columns_exist_in_table(source_table, [column]):
        plpy.error('PCA error: {1} column does not exist in {0}!'.format(source_table, column))
if lanczos_iter < 0:
    plpy.error("PCA error: lanczos_iter can't be negative!")
if not row_dim or row_dim <= 0 or not col_dim or col_dim <= 0:
    plpy.error('PCA error: The row and column dimensions must be larger than 0!')
if use_correlation:
    plpy.error('PCA error: Using the correlation matrix is not enabled! This value must be set to FALSE')

# pca_wrap
grouping_list = []
if grouping_cols:
    grouping_list = split_quoted_delimited_str(grouping_cols)
    if not columns_exist_in_table(source_table, grouping_list):
        plpy.error('PCA error: One or more grouping columns in {0} do not exist!'.format(grouping_cols))
    groups = plpy.execute('SELECT DISTINCT {0} FROM {1}'.format(grouping_cols, source_table))
other_columns = [c for c in get_cols(source_table) if c not in grouping_list]
grouping_clause = ''
if grouping_list:
    grouping_clause = ', ' + ', '.join(n + ' ' + t for n, t in get_cols_and_types(source_table) if n in grouping_list)
plpy.execute('''CREATE TABLE {0} (row_id INTEGER, principal_components double precision[], std_dev double precision,
    proportion double precision {1})'''.format(pc_table, grouping_clause))
mean_table = add_postfix(pc_table, '_mean')
plpy.execute('DROP TABLE IF EXISTS {0}'.format(mean_table))
plpy.execute('CREATE TABLE {0} (column_mean double precision[] {1})'.format(mean_table, grouping_clause))
other_columns.remove(row_id)

for group in (groups if grouping_list else [{}]):
    conditions = ' AND '.join(str(key) + '=' + str(value) for key, value in group.items())
    select_grouping_cols = ''.join(', ' + str(value) + ' AS ' + key for key, value in group.items())
    # _pca_union, for sparse input: a copy of the group's cells with the dimensions, then validate_sparse
    cells = plpy.execute('SELECT {0} AS r, {1} AS c, {2} AS v FROM {3} WHERE {2} is not NULL {4}'.format(
        row_id, col_id, val_id, source_table, ' AND ' + conditions if conditions else ''))
    rows = max([cell['r'] for cell in cells] + [row_dim])
    cols = max([cell['c'] for cell in cells] + [col_dim])
    if any(cell['r'] < 1 or cell['c'] < 1 for cell in cells):
        plpy.error('Matrix error: Invalid index in matrix. All row and column indices must be in the range [1, DIM]')
    if len(set((cell['r'], cell['c']) for cell in cells)) < len(cells):
        plpy.error('Matrix error: Following entries are duplicated in sparse matrix')
    x = np.zeros((rows, cols))
    for cell in cells:
        x[cell['r'] - 1, cell['c'] - 1] = float(cell['v'])
    if k and k > min(rows, cols):
        plpy.error('PCA error: k cannot be larger than min(row_dim, col_dim)!')
    iterations = lanczos_iter or (min(k + 40, rows, cols) if k else min(rows, cols))
    mean = x.mean(axis=0)
    centred = x - mean
    eigen_sum = float((centred ** 2).sum())
    _, sigma, vt = np.linalg.svd(centred, full_matrices=False)
    sigma, vt = sigma[:iterations], vt[:iterations]
    count = k if k else min(rows, cols)
    if variance:
        count = int(np.count_nonzero(np.cumsum(sigma ** 2) / eigen_sum < variance)) if eigen_sum else 0
        count = count + 1 if iterations > count else count
    for i in range(min(count, len(sigma))):
        sign = np.random.choice([-1.0, 1.0])
        plpy.execute('''INSERT INTO {0} SELECT {1}, '{{{2}}}'::float8[], {3} / sqrt({4} - 1), ({3} * {3}) / {5} {6}'''.format(
            pc_table, i + 1, ','.join(map(repr, (sign * vt[i]).tolist())), repr(float(sigma[i])), rows,
            repr(eigen_sum), select_grouping_cols))
    plpy.execute("INSERT INTO {0} SELECT '{{{1}}}'::FLOAT8[] AS column_mean {2}".format(
        mean_table, ','.join(map(repr, mean.tolist())), select_grouping_cols))
$standin$;

create function @schema@.pca_sparse_train(text, text, text, text, text, integer, integer, integer, text, integer,
    boolean, text) returns void language sql as
$$ select @schema@.pca_sparse_train($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, null) $$;

create function @schema@.pca_sparse_train(text, text, text, text, text, integer, integer, double precision, text,
    integer, boolean, text) returns void language sql as
$$ select @schema@.pca_sparse_train($1, $2, $3, $4, $5, $6, $7, null, $9, $10, $11, $12, $8) $$;
"""


def install_madlib_standin(db: Any, schema: str) -> None:
    """Creates schema `schema` with the stand-in's pca_sparse_train (needs plpython3u with numpy)."""
    quoted = '"' + schema.replace('"', '""') + '"'
    db.execute(f"create schema {quoted}; " + _STANDIN.replace("@schema@", quoted))
