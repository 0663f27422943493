"""A PostgreSQL that answers like Greenplum 7, for tests: CI has no Greenplum cluster.

Two parts:
- `greenplum_rejects(sql, aggregates)`: the rules of docs/greenplum.md, read from PostgreSQL's own
  parse tree (pglast): the statements Greenplum 7's planner rejects or crashes on.
- `GreenplumStandin`: a proxy in front of the test server, speaking PostgreSQL's wire protocol.
  Every query passes through it: a statement that breaks a rule fails with the error Greenplum
  gives; the `distributed by (...)`, `distributed randomly` and `distributed replicated` clauses,
  which PostgreSQL cannot parse, are recorded per created table and taken off before the query
  goes on. With `GREENPLUM_VERSION` answered by version() (a function of that name in a schema
  ahead of pg_catalog in the search path, `search_path_option`), the project takes the server
  for Greenplum, so a whole `dbt build` runs as it would there.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast, enums

GREENPLUM_VERSION = "PostgreSQL 12.12 (Greenplum Database 7.1.0 build commit:0) on x86_64-unknown-linux-gnu"

LATERAL_AGGREGATE = (
    "an aggregate or window function in a LATERAL subquery of a statement that writes "
    "(Greenplum 7: unexpected Motion requested from OuterQuery locus)"
)
NESTED_CORRELATED_SUBQUERY = (
    "a correlated subquery nested in another subquery of a statement that writes "
    "(crashed Greenplum 7's coordinator)"
)
MERGE = "MERGE (a syntax error on Greenplum 7)"

_DISTRIBUTION = re.compile(r"\s+distributed\s+(by\s*\([^()]*\)|randomly|replicated)\s*;?\s*$", re.IGNORECASE)
_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.CreateTableAsStmt)


def _walk(node: Any) -> Iterator[ast.Node]:
    """Every node of a parse tree, depth first."""
    if isinstance(node, ast.Node):
        yield node
        for name in node.__slots__:
            yield from _walk(getattr(node, name))
    elif isinstance(node, (tuple, list)):
        for item in node:
            yield from _walk(item)


def _is_aggregate_or_window(call: ast.FuncCall, aggregates: frozenset[str]) -> bool:
    name = call.funcname[-1].sval.lower()
    return bool(call.over or call.agg_star or call.agg_within_group or call.agg_filter or name in aggregates)


def _is_correlated(subquery: ast.Node) -> bool:
    """Whether a subquery names a relation (by a qualified column) that it does not define itself."""
    defined, used = set(), set()
    for node in _walk(subquery):
        if isinstance(node, ast.RangeVar):
            defined.add(node.alias.aliasname if node.alias else node.relname)
        elif isinstance(node, (ast.RangeSubselect, ast.RangeFunction, ast.JoinExpr)) and node.alias:
            defined.add(node.alias.aliasname)
        elif isinstance(node, ast.CommonTableExpr):
            defined.add(node.ctename)
        elif isinstance(node, ast.ColumnRef) and len(node.fields) >= 2 and isinstance(node.fields[-2], ast.String):
            used.add(node.fields[-2].sval)
    return bool(used - defined)


def statement_problems(statement: ast.Node, aggregates: frozenset[str]) -> list[str]:
    """The rules one parsed statement breaks."""
    if isinstance(statement, ast.MergeStmt):
        return [MERGE]
    writes = (
        isinstance(statement, _WRITES)
        or (isinstance(statement, ast.SelectStmt) and statement.intoClause is not None)
        or any(isinstance(node, _WRITES) for node in _walk(statement))
    )
    if not writes:
        return []
    problems = []
    for node in _walk(statement):
        if isinstance(node, ast.RangeSubselect) and node.lateral and any(
            isinstance(inner, ast.FuncCall) and _is_aggregate_or_window(inner, aggregates) for inner in _walk(node.subquery)
        ):
            problems.append(LATERAL_AGGREGATE)
        elif isinstance(node, ast.SubLink) and any(
            isinstance(inner, ast.SubLink) and inner.subLinkType != enums.SubLinkType.CTE_SUBLINK and _is_correlated(inner.subselect)
            for inner in _walk(node.subselect)
        ):
            problems.append(NESTED_CORRELATED_SUBQUERY)
    return sorted(set(problems))


def greenplum_rejects(sql: str, aggregates: frozenset[str]) -> list[str]:
    """The rules of docs/greenplum.md that the statements of `sql` break (none: Greenplum takes
    them). `aggregates` are the names of the server's aggregate functions."""
    return sorted({problem for parsed in pglast.parse_sql(sql) for problem in statement_problems(parsed.stmt, aggregates)})


def server_aggregates(cursor: Any) -> frozenset[str]:
    cursor.execute("select distinct proname::text from pg_catalog.pg_proc where prokind = 'a'")
    return frozenset(name for (name,) in cursor.fetchall())


@dataclass
class CreatedTable:
    name: str
    temporary: bool
    distribution: str | None  # "by (a, b)", "randomly", "replicated", or None: Greenplum's default


@dataclass
class GreenplumStandin:
    """The proxy; `start()` it, point libpq at `port`, `stop()` it."""

    server_host: str
    server_port: int
    aggregates: frozenset[str]
    created: list[CreatedTable] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (rule, statement)
    port: int = 0

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._listener.close()

    def search_path_option(self, version_schema: str) -> str:
        """PGOPTIONS that make version() answer GREENPLUM_VERSION (see `create_version_function`)."""
        return f"-c search_path={version_schema},pg_catalog"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            startup = _read_startup(client)
            while startup is not None and struct.unpack("!I", startup[4:8])[0] in (80877103, 80877104):
                client.sendall(b"N")  # no SSL, no GSS encryption
                startup = _read_startup(client)
            if startup is None:
                return
            with socket.create_connection((self.server_host, self.server_port)) as server:
                server.sendall(startup)
                threading.Thread(target=_pump, args=(server, client), daemon=True).start()
                self._forward_queries(client, server)

    def _forward_queries(self, client: socket.socket, server: socket.socket) -> None:
        while True:
            header = _read_exactly(client, 5)
            if header is None:
                return
            kind, length = header[:1], struct.unpack("!I", header[1:])[0]
            body = _read_exactly(client, length - 4) or b""
            if kind == b"Q":
                query = self.rewrite(body[:-1].decode())
                body = query.encode() + b"\0"
            try:
                server.sendall(kind + struct.pack("!I", len(body) + 4) + body)
            except OSError:
                return
            if kind == b"X":
                return

    def rewrite(self, query: str) -> str:
        """The query as PostgreSQL should run it: the distribution clauses recorded and taken off,
        or an error where Greenplum would give one."""
        statements = pglast.split(query, with_parser=False) if "distributed" in query.lower() else [query]
        kept = []
        for statement in statements:
            clause = _DISTRIBUTION.search(statement)
            stripped = statement[: clause.start()] if clause else statement
            distribution = re.sub(r"\s+", " ", clause.group(1).lower()) if clause else None
            try:
                parsed = pglast.parse_sql(stripped)
            except pglast.parser.ParseError:
                kept.append(stripped)
                continue
            for raw in parsed:
                problems = statement_problems(raw.stmt, self.aggregates)
                if problems:
                    with self._lock:
                        self.rejected += [(problem, stripped) for problem in problems]
                    message = "Greenplum stand-in rejects " + "; ".join(problems)
                    return "do $greenplum$ begin raise exception '%', " + _literal(message) + "; end $greenplum$"
                self._record_created(raw.stmt, distribution)
            kept.append(stripped)
        return ";\n".join(kept) if len(statements) > 1 or kept[0] != query else query

    def _record_created(self, statement: ast.Node, distribution: str | None) -> None:
        if isinstance(statement, ast.CreateTableAsStmt) and statement.objtype == enums.ObjectType.OBJECT_TABLE:
            relation = statement.into.rel
        elif isinstance(statement, ast.CreateStmt):
            relation = statement.relation
        else:
            return
        with self._lock:
            self.created.append(CreatedTable(relation.relname, relation.relpersistence == "t", distribution))


def create_version_function(db: Any, schema: str) -> None:
    """A schema whose version() answers like Greenplum; put it ahead of pg_catalog in the search path."""
    db.execute(f'create schema "{schema}"')
    db.execute(f"""create function "{schema}".version() returns text language sql as $$ select '{GREENPLUM_VERSION}' $$""")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        try:
            chunk = sock.recv(size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _read_startup(sock: socket.socket) -> bytes | None:
    header = _read_exactly(sock, 4)
    if header is None:
        return None
    rest = _read_exactly(sock, struct.unpack("!I", header)[0] - 4)
    return None if rest is None else header + rest


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copies the server's answers to the client as they are."""
    while True:
        try:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
        except OSError:
            break
    for sock in (source, target):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
