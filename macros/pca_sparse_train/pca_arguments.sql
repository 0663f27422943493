{#-
    The arguments of pca_sparse_train, validated and resolved against the catalog and the data,
    so that only existing, quoted names and checked numbers reach SQL. Any problem raises an error
    that names the argument, before anything is written. Returns a dict:
    source, out, out_mean (quoted relation names), out_schema, row, col, val (quoted columns),
    groups (quoted grouping columns), group_names (as given), group_columns (their "name type"
    for DDL), row_dim, col_dim,
    components (an int, or none) and variance (a fraction, or none), and the names as given.
-#}
{% macro pca_arguments(source_table, out_table, row_id, col_id, val_id, row_dim, col_dim, components_param, grouping_cols=none) %}
    {%- set row_dim = netflow_pca._pca_dimension('row_dim', row_dim) -%}
    {%- set col_dim = netflow_pca._pca_dimension('col_dim', col_dim) -%}
    {%- if row_dim * col_dim > 100000000 -%}
        {{- netflow_pca.pca_invalid_argument('row_dim and col_dim', row_dim ~ ' x ' ~ col_dim
            ~ ' cells exceed 100,000,000: the dense matrix of one group would not fit in memory') -}}
    {%- endif -%}
    {%- set components, variance = netflow_pca._pca_components_param(components_param, [row_dim, col_dim] | min) -%}

    {%- set source = netflow_pca._pca_relation('source_table', source_table) -%}
    {%- set found = netflow_pca._pca_catalog_relation(source) -%}
    {%- if found is none -%}
        {{- netflow_pca.pca_invalid_argument('source_table', 'relation ' ~ source.label ~ ' does not exist') -}}
    {%- endif -%}
    {%- set columns = netflow_pca._pca_catalog_columns(found.oid) -%}

    {%- set out = netflow_pca._pca_relation('out_table', out_table) -%}
    {%- if out.identifier | length > 58 -%}
        {{- netflow_pca.pca_invalid_argument('out_table', "'" ~ out.identifier
            ~ "' is longer than 58 characters, so '" ~ out.identifier ~ "_mean' would be cut short") -}}
    {%- endif -%}
    {%- set out_mean = netflow_pca._pca_relation('out_table', {'schema': out.schema, 'identifier': out.identifier ~ '_mean'}) -%}
    {%- for target in [out, out_mean] -%}
        {%- set existing = netflow_pca._pca_catalog_relation(target) -%}
        {%- if existing is not none and existing.oid == found.oid -%}
            {{- netflow_pca.pca_invalid_argument('out_table', target.label ~ ' is the source table') -}}
        {%- elif existing is not none and existing.kind != 'r' -%}
            {{- netflow_pca.pca_invalid_argument('out_table', target.label ~ ' exists and is not a table') -}}
        {%- endif -%}
    {%- endfor -%}

    {%- set row = netflow_pca._pca_column('row_id', row_id, columns, ['int2', 'int4', 'int8'], 'an integer') -%}
    {%- set col = netflow_pca._pca_column('col_id', col_id, columns, ['int2', 'int4', 'int8'], 'an integer') -%}
    {%- set val = netflow_pca._pca_column('val_id', val_id, columns,
        ['int2', 'int4', 'int8', 'float4', 'float8', 'numeric'], 'a number') -%}
    {%- set groups = [] -%}
    {%- set group_names = [] -%}
    {%- set group_columns = [] -%}
    {%- for name in netflow_pca._pca_grouping_names(grouping_cols) -%}
        {%- set group = netflow_pca._pca_column('grouping_cols', name, columns, none, none) -%}
        {%- if name in [row.name, col.name, val.name] or group.quoted in groups -%}
            {{- netflow_pca.pca_invalid_argument('grouping_cols', "column '" ~ name ~ "' is given twice") -}}
        {%- endif -%}
        {%- do groups.append(group.quoted) -%}
        {%- do group_names.append(name) -%}
        {%- do group_columns.append(group.quoted ~ ' ' ~ group.type) -%}
    {%- endfor -%}
    {%- if row.name == col.name or val.name in [row.name, col.name] -%}
        {{- netflow_pca.pca_invalid_argument('row_id, col_id and val_id', 'they must be three different columns') -}}
    {%- endif -%}

    {%- set args = {
        'source': source.quoted,
        'source_label': source.label,
        'out': out.quoted,
        'out_mean': out_mean.quoted,
        'out_schema': out.schema,
        'row': row.quoted,
        'col': col.quoted,
        'val': val.quoted,
        'groups': groups,
        'group_names': group_names,
        'group_columns': group_columns,
        'row_dim': row_dim,
        'col_dim': col_dim,
        'components': components,
        'variance': variance,
    } -%}
    {%- do netflow_pca._pca_check_cells(args, row, col, val) -%}
    {%- do return(args) -%}
{% endmacro %}


{% macro _pca_dimension(argument, value) %}
    {%- set number = netflow_pca.integer_or_none(value) if value is not boolean else none -%}
    {%- if number is none or number < 1 or number > 2147483647 -%}
        {{- netflow_pca.pca_invalid_argument(argument, 'expected a positive integer, got ' ~ netflow_pca.shown_value(value)) -}}
    {%- endif -%}
    {%- do return(number) -%}
{% endmacro %}


{#- MADlib's components_param: an integer is a number of components (at most the smaller
    dimension), a fraction in (0, 1] the share of variance to keep; returns [count, fraction]. -#}
{% macro _pca_components_param(value, smaller_dimension) %}
    {%- set number = netflow_pca.number_or_none(value) if value is not boolean else none -%}
    {%- if value is integer and number is not none and 1 <= number <= smaller_dimension -%}
        {%- do return([number, none]) -%}
    {%- elif value is integer and number is not none and number > smaller_dimension -%}
        {{- netflow_pca.pca_invalid_argument('components_param', number ~ ' components asked for, but min(row_dim, col_dim) is '
            ~ smaller_dimension) -}}
    {%- elif value is not integer and number is not none and 0 < number <= 1 -%}
        {%- do return([none, number]) -%}
    {%- endif -%}
    {{- netflow_pca.pca_invalid_argument('components_param', 'expected a whole number of components of at least 1 '
        ~ 'or a fraction of variance in (0, 1], got ' ~ netflow_pca.shown_value(value)) -}}
{% endmacro %}


{#- A relation named by a string ('table', 'schema.table', with SQL's quoting and case folding; an
    unqualified name is in the target schema) or by a dbt Relation. -#}
{% macro _pca_relation(argument, value) %}
    {%- if value is mapping -%}
        {%- set schema, identifier = value.schema, value.identifier -%}
    {%- elif value is not string and value.identifier is defined -%}
        {%- set schema, identifier = value.schema, value.identifier -%}
    {%- else -%}
        {%- set part = '("(?:[^"\\x00]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)' -%}
        {%- set match = modules.re.fullmatch('\\s*' ~ part ~ '(?:\\s*[.]\\s*' ~ part ~ ')?\\s*', value)
            if value is string else none -%}
        {%- if not match -%}
            {{- netflow_pca.pca_invalid_argument(argument, 'expected a table name like schema.table, got '
                ~ netflow_pca.shown_value(value)) -}}
        {%- endif -%}
        {%- set parts = [] -%}
        {%- for part in match.groups() if part is not none -%}
            {%- do parts.append(part[1:-1] | replace('""', '"') if part.startswith('"') else part | lower) -%}
        {%- endfor -%}
        {%- set schema, identifier = (parts[0], parts[1]) if parts | length == 2 else (target.schema, parts[0]) -%}
    {%- endif -%}
    {%- if identifier | length > 63 or schema | length > 63 -%}
        {{- netflow_pca.pca_invalid_argument(argument, 'a name is longer than 63 characters: ' ~ netflow_pca.shown_value(identifier)) -}}
    {%- endif -%}
    {%- do return({
        'schema': schema,
        'identifier': identifier,
        'quoted': netflow_pca.quote_identifier(schema) ~ '.' ~ netflow_pca.quote_identifier(identifier),
        'label': schema ~ '.' ~ identifier,
    }) -%}
{% endmacro %}


{#- The catalog entry (oid, kind) of a relation, or none; pg_temp means this session's temp schema. -#}
{% macro _pca_catalog_relation(relation) %}
    {%- set rows = run_query(
        "select c.oid::bigint, c.relkind::text from pg_catalog.pg_class as c"
        ~ " join pg_catalog.pg_namespace as n on n.oid = c.relnamespace"
        ~ " where c.relname = " ~ netflow_pca.sql_string_literal(relation.identifier)
        ~ " and c.relkind in ('r', 'p', 'v', 'm', 'f')"
        ~ " and (n.nspname = " ~ netflow_pca.sql_string_literal(relation.schema)
        ~ " or (" ~ netflow_pca.sql_string_literal(relation.schema) ~ " = 'pg_temp' and n.oid = pg_catalog.pg_my_temp_schema()))"
    ).rows -%}
    {%- do return({'oid': rows[0][0], 'kind': rows[0][1]} if rows | length > 0 else none) -%}
{% endmacro %}


{% macro _pca_catalog_columns(oid) %}
    {%- set columns = {} -%}
    {%- for name, type, base in run_query(
        "select a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), t.typname::text"
        ~ " from pg_catalog.pg_attribute as a join pg_catalog.pg_type as t on t.oid = a.atttypid"
        ~ " where a.attrelid = " ~ oid ~ " and a.attnum > 0 and not a.attisdropped order by a.attnum"
    ).rows -%}
        {%- do columns.update({name: {'type': type, 'base': base}}) -%}
    {%- endfor -%}
    {%- do return(columns) -%}
{% endmacro %}


{#- A column of the source, by its exact name, of one of the accepted types (none: any). -#}
{% macro _pca_column(argument, name, columns, accepted_types, expected) %}
    {%- if name is not string or name not in columns -%}
        {{- netflow_pca.pca_invalid_argument(argument, netflow_pca.shown_value(name) ~ ' is not a column of the source; its columns are '
            ~ columns.keys() | join(', ')) -}}
    {%- endif -%}
    {%- if accepted_types is not none and columns[name].base not in accepted_types -%}
        {{- netflow_pca.pca_invalid_argument(argument, "column '" ~ name ~ "' has type " ~ columns[name].type
            ~ '; expected ' ~ expected ~ ' type') -}}
    {%- endif -%}
    {%- do return({'name': name, 'quoted': netflow_pca.quote_identifier(name), 'type': columns[name].type}) -%}
{% endmacro %}


{#- MADlib's grouping_cols: a comma-separated string of column names (or a list), or none. -#}
{% macro _pca_grouping_names(grouping_cols) %}
    {%- if grouping_cols is none or grouping_cols == '' -%}
        {%- do return([]) -%}
    {%- elif grouping_cols is string -%}
        {%- do return(grouping_cols.split(',') | map('trim') | list) -%}
    {%- elif grouping_cols is iterable and grouping_cols is not mapping -%}
        {%- do return(grouping_cols | list) -%}
    {%- endif -%}
    {{- netflow_pca.pca_invalid_argument('grouping_cols', 'expected column names, got ' ~ netflow_pca.shown_value(grouping_cols)) -}}
{% endmacro %}


{#- One scan of the source: no NULLs, finite values, ids within 1..row_dim and 1..col_dim. -#}
{% macro _pca_check_cells(args, row, col, val) %}
    {%- set group_nulls -%}
        {%- for group in args.groups %}
            + count(*) filter (where {{ group }} is null)
        {%- endfor -%}
    {%- endset -%}
    {%- set checks = run_query(
        'select count(*) filter (where ' ~ args.row ~ ' is null),'
        ~ ' count(*) filter (where ' ~ args.col ~ ' is null),'
        ~ ' count(*) filter (where ' ~ args.val ~ ' is null),'
        ~ " count(*) filter (where cast(" ~ args.val ~ " as double precision) in ('NaN', 'Infinity', '-Infinity')),"
        ~ ' min(' ~ args.row ~ '), max(' ~ args.row ~ '), min(' ~ args.col ~ '), max(' ~ args.col ~ '),'
        ~ ' 0' ~ group_nulls
        ~ ' from ' ~ args.source
    ).rows[0] -%}
    {%- set null_rows, null_cols, null_vals, non_finite, min_row, max_row, min_col, max_col, null_groups = checks -%}
    {%- for argument, column, nulls in [('row_id', row, null_rows), ('col_id', col, null_cols), ('val_id', val, null_vals)] -%}
        {%- if nulls > 0 -%}
            {{- netflow_pca.pca_invalid_argument(argument, "column '" ~ column.name ~ "' has " ~ nulls ~ ' NULL values') -}}
        {%- endif -%}
    {%- endfor -%}
    {%- if non_finite > 0 -%}
        {{- netflow_pca.pca_invalid_argument('val_id', "column '" ~ val.name ~ "' has " ~ non_finite ~ ' NaN or infinite values') -}}
    {%- endif -%}
    {%- if null_groups > 0 -%}
        {{- netflow_pca.pca_invalid_argument('grouping_cols', 'a grouping column has NULL values') -}}
    {%- endif -%}
    {%- for argument, column, smallest in [('row_id', row, min_row), ('col_id', col, min_col)] -%}
        {%- if smallest is not none and smallest < 1 -%}
            {{- netflow_pca.pca_invalid_argument(argument, "ids are 1-based, but column '" ~ column.name ~ "' holds " ~ smallest) -}}
        {%- endif -%}
    {%- endfor -%}
    {%- for argument, column, largest, dimension in [('row_dim', row, max_row, args.row_dim), ('col_dim', col, max_col, args.col_dim)] -%}
        {%- if largest is not none and largest > dimension -%}
            {{- netflow_pca.pca_invalid_argument(argument, dimension ~ " is smaller than the largest id in column '"
                ~ column.name ~ "', " ~ largest) -}}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
