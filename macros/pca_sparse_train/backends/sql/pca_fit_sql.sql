{#-
    The sql backend: plain SQL plus three PL/pgSQL functions, for any PostgreSQL 12+ or Greenplum 7.
    All groups at once, in one pass over the source:
    1. lines: one row per line of the long side of the matrix (columns when row_dim <= col_dim,
       else rows), with its cells as arrays, its sum, and as a dense vector over the short side
       (pca_dense_vector);
    2. gram: the uncentred Gram matrix of the short side, G = sum over lines of l l', one row of
       it per short id, as m sums per cell (m = min(row_dim, col_dim));
    3. matrices, spectra: G centred (J G J for rows, G - n mu mu' for columns), and its eigenvalues;
    4. kept: how many components the rules keep in each group, and how many of them get their
       vector: all, or with args.vector_variance_factor (set by hourly_pca_fit) the leading ones
       while each one's eigenvalue exceeds that factor times the mean of it and all that follow
       (n - k of them at most); past those, principal_components is null;
    5. eigen: the eigenvectors of those components only (inverse iteration): the full
       decomposition costs several times as much, and a build keeps at most 20 of 90;
    6. for rows (the usual short side): weights u_k / sigma_k, projections X'U / sigma of every
       column, gathered into one vector per component (pca_dense_vector) and signed in the same
       pass; for columns
       the eigenvectors are the components, signed by pca_signed_components_sql;
    7. the column means.
    The lines and the eigenvalues are built in two parts, which PostgreSQL runs side by side (a
    Parallel Append, one process each) where the rest of a build leaves a core idle; the Gram
    sums and the projections run in parallel workers by themselves.
    Work tables are unlogged (parallel workers can scan them) and analysed where a plan depends on
    their size. Returns them for pca_fit to drop after its warning, with kept, a row for every
    group, as the fit's groups; on an error the transaction takes them away.
-#}
{% macro pca_fit_sql(args, components, means, work) %}
    {%- set n, p = args.row_dim, args.col_dim -%}
    {%- set rows_are_short = n <= p -%}
    {%- set m = [n, p] | min -%}
    {%- if m > 1000 -%}
        {{- netflow_pca.pca_invalid_argument('row_dim and col_dim', 'the sql backend handles min(row_dim, col_dim) up to 1000 '
            ~ '(its cost grows with the cube); use the plpython backend') -}}
    {%- endif -%}
    {%- set short_id, long_id = (args.row, args.col) if rows_are_short else (args.col, args.row) -%}
    {%- set groups = args.groups or ['pca_group'] -%}
    {%- set rules = netflow_pca.pca_numerical_rules() -%}
    {%- set vector_factor = args.get('vector_variance_factor') -%}
    {%- set functions_schema = netflow_pca.quote_identifier(netflow_pca.run_vars().pca_functions_schema) -%}
    {%- set lines, gram, matrices, spectra = work ~ 'lines', work ~ 'gram', work ~ 'matrices', work ~ 'spectra' -%}
    {%- set kept, eigen = work ~ 'kept', work ~ 'eigen' -%}
    {%- set weights, projections, unsigned = work ~ 'weights', work ~ 'projections', work ~ 'unsigned' -%}
    {#- on Greenplum: the tables of a line (a user, usually) spread by it, the weights on every
        segment (joined with every line), the rest, a few rows per group, by group -#}
    {%- set by_line = netflow_pca.greenplum_distribution(['long_id']) -%}
    {%- set by_group = netflow_pca.greenplum_distribution(groups) -%}
    {#- two parts of the lines (halves of the long ids) and of the groups (for their eigenvalues),
        each in a process of its own; one on Greenplum, whose segments share the work already -#}
    {%- set halves = netflow_pca.hash_halves() -%}
    {%- set parts = halves | length -%}

    {#- JIT spends seconds compiling these long lists of sums and runs them no faster; the setting
        is the transaction's, put back at the end -#}
    {%- set jit = run_query("select current_setting('jit', true)").rows[0][0] -%}
    {%- set parallel_costs = run_query("select current_setting('parallel_setup_cost'), current_setting('parallel_tuple_cost')").rows[0] -%}
    {%- if jit is not none %}
        {%- call statement('pca_sql_no_jit') %}
            select set_config('jit', 'off', true)
        {%- endcall %}
    {%- endif %}

    {#- the lines of each part of the long side in a group-by of their own, the parts as a Parallel
        Append (one process each; one part on Greenplum). The dense vector comes from the sorted
        arrays by pca_dense_vector, a PL/pgSQL function (parallel safe, unlike a scalar subquery,
        which kept the Append out of the workers): its cells built as text needed each cell's
        previous short id, and so a second aggregate of the cells, and a window function (lag)
        keeps a plan in one process (PostgreSQL 15 runs no WindowAgg under a Gather). At 10 M
        events, with the index and the analysis: 6.4-7.4 s of CPU in the leader and 5.1-5.8 s in a
        worker with the text, 3.5-4.1 s and 2.3-2.7 s with the function (load 9-10) -#}
    {%- call statement('pca_sql_lines') %}
        create unlogged table {{ lines }} as
        {%- for half in halves %}
        select
            {{ netflow_pca.prefixed_columns(groups, 'line.') }},
            line.long_id,
            line.long_sum,
            line.short_ids,
            line.vals,
            -- null where a short id repeats
            {{ functions_schema }}.pca_dense_vector(line.short_ids, line.vals, {{ m }}) as dense
        from (
            select
                {{ args.groups | join(', ') if args.groups else '1 as pca_group' }},
                cast({{ long_id }} as integer) as long_id,
                sum(cast({{ args.val }} as double precision)) as long_sum,
                array_agg(cast({{ short_id }} as integer) order by {{ short_id }}) as short_ids,
                array_agg(cast({{ args.val }} as double precision) order by {{ short_id }}) as vals
            from {{ args.source }}
            {%- if half is not none %}
            where hashint4(cast({{ long_id }} as integer)) {{ half }}
            {%- endif %}
            group by {% for group in args.groups %}{{ group }}, {% endfor %}{{ long_id }}
        ) as line
        {{- '\n        union all' if not loop.last }}
        {%- endfor %}
        {{- by_line }};
        -- the projection reads the lines in this order, so that workers can sum each line's
        -- cells without sorting them, each taking a share of the lines
        create index on {{ lines }} ({{ groups | join(', ') }}, long_id);
        analyze {{ lines }}
    {%- endcall %}

    {%- set duplicates = run_query(
        'select long_id, (select entry.id from unnest(short_ids) with ordinality as entry (id, i)'
        ~ ' where entry.id = short_ids[entry.i - 1] limit 1) from ' ~ lines ~ ' where dense is null limit 1').rows -%}
    {%- if duplicates | length > 0 -%}
        {%- set line, other = duplicates[0][0], duplicates[0][1] -%}
        {{- exceptions.raise_compiler_error('pca_sparse_train: duplicate entries for (row '
            ~ (other if rows_are_short else line) ~ ', column ' ~ (line if rows_are_short else other) ~ ') in the source') -}}
    {%- endif -%}

    {%- call statement('pca_sql_gram') %}
        create unlogged table {{ gram }} as
        select
            {{ netflow_pca.prefixed_columns(groups, 'lines.') }},
            cells.short_id,
            sum(cells.v) as short_sum,
            {{ netflow_pca._pca_weighted_sums('lines.dense', m) }} as gram_row
        from {{ lines }} as lines
        cross join lateral unnest(lines.short_ids, lines.vals) as cells (short_id, v)
        group by {{ netflow_pca.prefixed_columns(groups, 'lines.') }}, cells.short_id
        {{- by_group }}
    {%- endcall %}

    {%- call statement('pca_sql_matrices') %}
        create unlogged table {{ matrices }} as
        with
        groups as (
            select distinct {{ groups | join(', ') }} from {{ lines }}
        ),
        gram_rows as (
            select
                {{ netflow_pca.prefixed_columns(groups, 'groups.') }},
                short_ids.short_id,
                coalesce(gram.gram_row, array_fill(0::double precision, array[{{ m }}])) as gram_row,
                coalesce(gram.short_sum, 0) as short_sum,
                coalesce((select sum(entry) from unnest(gram.gram_row) as entry), 0) as row_sum
            from groups
            cross join generate_series(1, {{ m }}) as short_ids (short_id)
            left join {{ gram }} as gram
                on {{ netflow_pca.same_group_condition(groups, 'gram', 'groups') }}
                and gram.short_id = short_ids.short_id
        ),
        centring as (
            -- rows: c_i = (G 1)_i / n, and J G J = G - c 1' - 1 c' + (1'G 1 / n^2) 1 1';
            -- columns: c_i = mu_i, and X'JX = G - n mu mu'
            select
                {{ groups | join(', ') }},
                array_agg({{ 'row_sum' if rows_are_short else 'short_sum' }} / {{ n }} order by short_id) as c,
                sum(row_sum) / {{ n * n }} as offset_all
            from gram_rows
            group by {{ groups | join(', ') }}
        ),
        centred_rows as (
            select
                {{ netflow_pca.prefixed_columns(groups, 'gram_rows.') }},
                gram_rows.short_id,
                gram_rows.gram_row[gram_rows.short_id] as raw_diagonal,
                array(
                    select
                        {%- if rows_are_short %}
                        cells.g - centring.c[gram_rows.short_id] - cells.c + centring.offset_all
                        {%- else %}
                        cells.g - gram_rows.short_sum * cells.c
                        {%- endif %}
                    from unnest(gram_rows.gram_row, centring.c) with ordinality as cells (g, c, j)
                    order by cells.j
                ) as centred_row
            from gram_rows
            inner join centring on {{ netflow_pca.same_group_condition(groups, 'centring', 'gram_rows') }}
        ),
        matrices as (
            select
                {{ groups | join(', ') }},
                sum(raw_diagonal) as raw_total,
                sum(centred_row[short_id]) as total,
                array_agg(centred_row order by short_id) as matrix
            from centred_rows
            group by {{ groups | join(', ') }}
        )
        select
            matrices.*,
            cast(row_number() over (order by {{ netflow_pca.prefixed_columns(groups, 'matrices.') }}) % {{ parts }} as integer) as part
        from matrices
        {{- by_group }};
        analyze {{ matrices }}
    {%- endcall %}

    {#- the eigenvalues of each part's groups, the parts as a Parallel Append (one process each):
        PostgreSQL prices a PL/pgSQL call at 100 operators (0.25) where a 90 x 90 matrix takes
        about 70 ms, so only without the costs of starting workers and passing rows does it plan
        them in parallel (24 of 90 x 90: 1.75 s of CPU in one process, against 0.2 s for the
        matrices and then 0.8 s in each of two) -#}
    {%- call statement('pca_sql_spectra') %}
        {%- if parts > 1 %}
        select set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0', true);
        {%- endif %}
        create unlogged table {{ spectra }} as
        {%- for part in range(parts) %}
        select
            {{ netflow_pca.prefixed_columns(groups, 'matrices.') }},
            matrices.raw_total,
            matrices.total,
            decomposition.eigenvalues,
            decomposition.reduced
        from {{ matrices }} as matrices
        cross join lateral {{ functions_schema }}.pca_symmetric_eigenvalues(matrices.matrix) as decomposition
        {%- if parts > 1 %}
        where matrices.part = {{ part }}
        {%- endif %}
        {{- '\n        union all' if not loop.last }}
        {%- endfor %}
        {{- by_group }}
        {%- if parts > 1 %};
        select
            set_config('parallel_setup_cost', {{ netflow_pca.sql_string_literal(parallel_costs[0]) }}, true),
            set_config('parallel_tuple_cost', {{ netflow_pca.sql_string_literal(parallel_costs[1]) }}, true)
        {%- endif %}
    {%- endcall %}

    {%- call statement('pca_sql_kept') %}
        create unlogged table {{ kept }} as
        select
            {{ groups | join(', ') }},
            kept,
            {%- if vector_factor is none %}
            kept as vectors
            {%- else %}
            least(kept, passing) as vectors
            {%- endif %}
        from (
            select
                {{ groups | join(', ') }},
                {%- if vector_factor is not none %}
                coalesce(
                    min(k) filter (where not (
                        k < {{ n }} and eigenvalue > {{ vector_factor }} * (total - cumulative + eigenvalue) / ({{ n }} - k)
                    )) - 1,
                    count(*)
                ) as passing,
                {%- endif %}
                case
                    when {{ n }} < 2 or total <= {{ rules.no_variance }} * raw_total then 0
                    else least(
                        count(*) filter (where eigenvalue > {{ rules.zero_share }} * total),
                        {%- if args.components is not none %}
                        {{ args.components }}
                        {%- else %}
                        1 + count(*) filter (where cumulative < {{ args.variance }} * total)
                        {%- endif %}
                    )
                end as kept
            from (
                select
                    {{ netflow_pca.prefixed_columns(groups, 'spectra.') }},
                    spectra.total,
                    spectra.raw_total,
                    spectrum.eigenvalue,
                    spectrum.k,
                    sum(spectrum.eigenvalue) over (
                        partition by {{ netflow_pca.prefixed_columns(groups, 'spectra.') }} order by spectrum.k
                    ) as cumulative
                from {{ spectra }} as spectra
                cross join lateral unnest(spectra.eigenvalues) with ordinality as spectrum (eigenvalue, k)
            ) as cumulated
            group by {{ groups | join(', ') }}, total, raw_total
        ) as counted
        {{- by_group }}
    {%- endcall %}

    {%- set most = run_query('select coalesce(max(kept), 0), coalesce(max(vectors), 0) from ' ~ kept).rows[0] -%}
    {%- set most_kept, most_vectors = most[0] | int, most[1] | int -%}

    {%- call statement('pca_sql_eigen') %}
        create unlogged table {{ eigen }} as
        select
            {{ netflow_pca.prefixed_columns(groups, 'spectra.') }},
            spectra.total,
            spectra.eigenvalues,
            {{ functions_schema }}.pca_symmetric_eigenvectors(spectra.reduced, spectra.eigenvalues, cast(kept.vectors as integer)) as eigenvectors
        from {{ spectra }} as spectra
        inner join {{ kept }} as kept on {{ netflow_pca.same_group_condition(groups, 'kept', 'spectra') }}
        where kept.kept > 0
        {{- by_group }}
    {%- endcall %}

    {%- if rows_are_short and most_vectors > 0 %}
        {%- call statement('pca_sql_weights') %}
            create unlogged table {{ weights }} as
            -- one read of each eigenvector array: a subscript of a stored array that large fetches all of
            -- it. A group with fewer vectors than most_vectors has a shorter w: its projections past
            -- them are null, and never listed
            select
                {{ netflow_pca.prefixed_columns(groups, 'eigen.') }},
                cast((entries.i - 1) % {{ m }} + 1 as integer) as short_id,
                array_agg(entries.x / sqrt(eigen.eigenvalues[(entries.i - 1) / {{ m }} + 1]) order by entries.i) as w
            from {{ eigen }} as eigen
            cross join lateral unnest(eigen.eigenvectors) with ordinality as entries (x, i)
            group by {{ netflow_pca.prefixed_columns(groups, 'eigen.') }}, cast((entries.i - 1) % {{ m }} + 1 as integer)
            {{- netflow_pca.greenplum_distribution(replicated=true) }};
            create index on {{ weights }} ({{ groups | join(', ') }}, short_id);
            analyze {{ weights }}
        {%- endcall %}

        {%- call statement('pca_sql_projections') %}
            create unlogged table {{ projections }} as
            select
                {{ netflow_pca.prefixed_columns(groups, 'lines.') }},
                lines.long_id,
                {{ netflow_pca._pca_weighted_sums('weights.w', most_vectors) }} as projected
            from {{ lines }} as lines
            cross join lateral unnest(lines.short_ids, lines.vals) as cells (short_id, v)
            inner join {{ weights }} as weights
                on {{ netflow_pca.same_group_condition(groups, 'weights', 'lines') }}
                and weights.short_id = cells.short_id
            group by {{ netflow_pca.prefixed_columns(groups, 'lines.') }}, lines.long_id
            {{- by_line }}
        {%- endcall %}
    {%- endif %}

    {%- if rows_are_short %}
        {%- if most_kept > 0 %}
            {%- call statement('pca_sql_components') %}
                insert into {{ components }} (row_id, principal_components, std_dev, proportion{% for group in args.groups %}, {{ group }}{% endfor %})
                {{ netflow_pca._pca_signed_projections(groups, args.groups, kept, eigen, projections, p, n, most_kept, most_vectors, functions_schema) }}
            {%- endcall %}
        {%- endif %}
    {%- else %}
        {%- call statement('pca_sql_unsigned') %}
            create unlogged table {{ unsigned }} as
            select
                listed.row_id,
                case
                    when listed.row_id <= kept.vectors
                        then eigen.eigenvectors[(listed.row_id - 1) * {{ m }} + 1:listed.row_id * {{ m }}]
                end as principal_components,
                sqrt(eigen.eigenvalues[listed.row_id]) / sqrt({{ n - 1 }}) as std_dev,
                eigen.eigenvalues[listed.row_id] / eigen.total as proportion,
                {{ netflow_pca.prefixed_columns(groups, 'kept.') }}
            from {{ kept }} as kept
            inner join {{ eigen }} as eigen on {{ netflow_pca.same_group_condition(groups, 'eigen', 'kept') }}
            cross join lateral generate_series(1, kept.kept) as listed (row_id)
            {{- by_group }}
        {%- endcall %}

        {%- call statement('pca_sql_components') %}
            insert into {{ components }} (row_id, principal_components, std_dev, proportion{% for group in args.groups %}, {{ group }}{% endfor %})
            {{ netflow_pca.pca_signed_components_sql(unsigned, args.groups) }}
        {%- endcall %}
    {%- endif %}

    {%- if means is not none %}
        {%- call statement('pca_sql_means') %}
            insert into {{ means }} (column_mean{% for group in args.groups %}, {{ group }}{% endfor %})
            {{ netflow_pca.pca_column_means_sql(
                '(select ' ~ (args.groups | join(', ') ~ ', ' if args.groups else '')
                    ~ (('long_id as col_id, long_sum as column_sum from ' ~ lines) if rows_are_short
                       else ('short_id as col_id, short_sum as column_sum from ' ~ gram)) ~ ')',
                args.groups, n, p) }}
        {%- endcall %}
    {%- endif %}

    {%- if jit is not none %}
        {%- call statement('pca_sql_jit') %}
            select set_config('jit', {{ netflow_pca.sql_string_literal(jit) }}, true)
        {%- endcall %}
    {%- endif %}

    {#- kept has a row per group: the distinct groups of the source took a scan of it (0.29 s in
        the backend and 0.52 s in two workers for the residual fit at 10 M events, load 3) -#}
    {%- do return({
        'groups': kept if args.groups else none,
        'scratch': [lines, gram, matrices, spectra, kept, eigen, weights, projections, unsigned],
    }) -%}
{% endmacro %}


{#- The select of the components of the rows-short case in MADlib's layout, with their signs fixed
    by pca_signed_components_sql's rule: the projections gathered into one vector per component,
    with each vector's most positive and most negative entry from the same pass, so that only a
    component whose largest magnitudes of both signs lie within the tolerance is scanned again.
    The components past their group's vectors (kept.vectors) are listed with a null vector. Each
    vector is its group's projections in long id order made dense by pca_dense_vector: an ordered
    aggregate over every long id (a cross join with generate_series, left joined to the
    projections) sorted 480,000 rows twice on disk at 10 M events; 1.31 -> 0.88-0.92 s of CPU
    (the statement alone, alternated twice, load 6). -#}
{% macro _pca_signed_projections(groups, output_groups, kept, eigen, projections, p, n, most_kept, most_vectors, functions_schema) %}
    {%- set tolerance = netflow_pca.pca_numerical_rules().sign_tolerance %}
    with
    vectors as (
        select
            {{ netflow_pca.prefixed_columns(groups, 'kept.') }},
            {%- for k in range(1, most_vectors + 1) %}
            -- the long ids without a projection (no cells) get 0; null for a group without vectors
            {{ functions_schema }}.pca_dense_vector(
                array_agg(projections.long_id order by projections.long_id) filter (where projections.long_id is not null),
                -- no nulls: pca_dense_vector reads the kth element of an array without them in constant time
                array_agg(coalesce(projections.projected[{{ k }}], 0) order by projections.long_id) filter (where projections.long_id is not null),
                {{ p }}
            ) as component_{{ k }},
            max(projections.projected[{{ k }}]) as most_positive_{{ k }},
            min(projections.projected[{{ k }}]) as most_negative_{{ k }},
            {%- endfor %}
            kept.kept,
            kept.vectors
        from {{ kept }} as kept
        {%- if most_vectors > 0 %}
        left join {{ projections }} as projections
            on {{ netflow_pca.same_group_condition(groups, 'projections', 'kept') }}
        {%- endif %}
        where kept.kept > 0
        group by {{ netflow_pca.prefixed_columns(groups, 'kept.') }}, kept.kept, kept.vectors
    ),
    components as (
        select
            {{ netflow_pca.prefixed_columns(groups, 'vectors.') }},
            listed.row_id,
            listed.principal_components,
            listed.most_positive,
            listed.most_negative,
            (1 - {{ tolerance }}) * greatest(listed.most_positive, -listed.most_negative) as near_largest
        from vectors
        cross join lateral (
            values
            {%- for k in range(1, most_kept + 1) %}
            {%- if k <= most_vectors %}
            ({{ k }}, case when vectors.vectors >= {{ k }} then vectors.component_{{ k }} end, vectors.most_positive_{{ k }}, vectors.most_negative_{{ k }})
            {%- else %}
            ({{ k }}, cast(null as double precision[]), cast(null as double precision), cast(null as double precision))
            {%- endif %}{{ ',' if not loop.last }}
            {%- endfor %}
        ) as listed (row_id, principal_components, most_positive, most_negative)
        where listed.row_id <= vectors.kept
    )
    select
        components.row_id,
        case
            when components.most_negative <= -components.near_largest
                and (
                    components.most_positive < components.near_largest
                    or (
                        select entry.x
                        from unnest(components.principal_components) with ordinality as entry (x, i)
                        where abs(entry.x) >= components.near_largest
                        order by entry.i
                        limit 1
                    ) < 0
                )
                -- a function scan yields the elements in order, and nothing here reorders them
                then array(select -entry from unnest(components.principal_components) as entry)
            else components.principal_components
        end as principal_components,
        sqrt(eigen.eigenvalues[components.row_id]) / sqrt({{ n - 1 }}) as std_dev,
        least(eigen.eigenvalues[components.row_id] / eigen.total, 1.0) as proportion
        {%- for group in output_groups %},
        components.{{ group }}
        {%- endfor %}
    from components
    inner join {{ eigen }} as eigen on {{ netflow_pca.same_group_condition(groups, 'eigen', 'components') }}
{%- endmacro %}


{#- array[sum(cells.v * vector[1]), ..., sum(cells.v * vector[count])]: one aggregate per element,
    the fastest form of a sum of scaled vectors that plain SQL has. -#}
{% macro _pca_weighted_sums(vector, count) %}
    array[
        {%- for j in range(1, count + 1) %}
        sum(cells.v * {{ vector }}[{{ j }}]){{ ',' if not loop.last }}
        {%- endfor %}
    ]
{%- endmacro %}
