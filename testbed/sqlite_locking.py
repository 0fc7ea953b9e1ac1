"""SQLite transactions that write take the write lock with their first change (BEGIN IMMEDIATE).

The API server and the daemon loop share one SQLite file (WAL). Python's sqlite3 opens a
transaction lazily, with a DEFERRED BEGIN before the first statement that changes anything.
Rucio's core functions often start by filling a temporary table, then read, then write: begun
DEFERRED, such a transaction reads a snapshot, and its first write to a real table fails at once
with "database is locked" (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out) whenever
another process committed in between; 2-8 of 60 dataset registrations failed that way while the
daemon loop worked. Begun IMMEDIATE, the transaction waits for the lock instead (up to the
database URL's timeout=30). Transactions that only read still take no lock.

Imported by the policy package, which every server-side Rucio process of the testbed imports
(through rucio.common.schema) before its first database connection.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.pool import Pool


@event.listens_for(Pool, "connect")
def _begin_immediate(dbapi_connection: object, connection_record: object) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = "IMMEDIATE"
