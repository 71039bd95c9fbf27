"""The share host's store on PostgreSQL (psycopg 3), for a host that serves many patients with several host
processes behind a load balancer. The statements are the SQLite store's (store.SQLShareHostStore): the attempt
counter and single-use file addresses change in single conditional statements, which PostgreSQL runs one at a time
per row however many processes send them, so the limits hold across processes and machines."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ...errors import ShareHostError
from ..store import POSTGRES_SCHEMA, SQLShareHostStore

__all__ = ["PostgresShareHostStore"]

# The pool logs each failed reconnection with the server's address; the host's own log says what matters.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


class _Adapter:
    """psycopg's connection with the `?` placeholders of the shared statements."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        with self.conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), [tuple(p) for p in params])
            return cur


class PostgresShareHostStore(SQLShareHostStore):
    lock_suffix = " FOR UPDATE"

    def __init__(self, url: str, *, max_connections: int = 10) -> None:
        try:
            # One plain connection first: a wrong address or a stopped server fails at once, in one sentence,
            # rather than after the pool's retries (which also log the server's address on every try).
            psycopg.connect(url, connect_timeout=10).close()
            self.pool = ConnectionPool(url, min_size=1, max_size=max_connections, kwargs={"autocommit": True},
                                       open=True, timeout=30, name="carry-host")  # fmt: skip
            with self._write() as db:
                # Several processes may start at once against a new database: one creates the tables.
                db.execute("SELECT pg_advisory_xact_lock(7471)")
                for statement in POSTGRES_SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
        except (psycopg.Error, OSError, ShareHostError):
            # The URL may hold a password: the message names neither it nor the URL.
            raise ShareHostError("Carry could not open the share host's PostgreSQL database; check --database "
                                 "and that the server is running.") from None  # fmt: skip

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def _connect(self) -> Iterator[_Adapter]:
        try:
            with self.pool.connection() as conn:
                yield _Adapter(conn)
        except psycopg.Error as exc:
            raise ShareHostError("The share host's storage failed; try again.") from exc

    @contextmanager
    def _write(self) -> Iterator[_Adapter]:
        try:
            with self.pool.connection() as conn, conn.transaction():
                yield _Adapter(conn)
        except psycopg.Error as exc:
            raise ShareHostError("The share host's storage failed; try again.") from exc
