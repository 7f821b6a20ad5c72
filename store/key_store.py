"""Where the case keys live: a key store apart from the data, so backups of the data
cannot open an erased survivor's values.

Crypto-shredding holds only if no copy of a case's key outlives its erasure. The wrapped
keys therefore never sit in the database the hub's data backups copy:

- SQLite: a second file beside the database (``<database>.keys``), attached to every
  connection as the schema ``keystore``. ``referral-hub backup`` copies the main file only
  (SQLite's backup API copies one database), so a data backup holds no key.
- PostgreSQL: the schema ``keystore`` in the hub's database; ``referral-hub backup`` runs
  ``pg_dump --exclude-schema=keystore``.

The key store is small and kept without history: after an erasure the key's row is deleted
and the store compacted (SQLite: ``secure_delete`` and a truncating WAL checkpoint;
PostgreSQL: ``VACUUM FULL`` rewrites the table's files), so its bytes leave the files.
Keep it durable by replication or by short-lived copies only: a copy of the key store kept
for N days extends every erasure by N days, and a data backup alone opens nothing.
One attached schema rather than a second engine keeps a case and its key in one
transaction, and the read path's single batched key query unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SCHEMA = "keystore"
# The same table as migration 0018_shred creates (no foreign key: another file).
CREATE_SQLITE = (
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.case_keys (case_id VARCHAR(36) NOT NULL PRIMARY KEY, "
    "wrapped TEXT NOT NULL, created_at DATETIME NOT NULL)"
)


def key_store_path(database: str) -> str:
    """The SQLite key store file of the SQLite database file ``database``."""
    if database in ("", ":memory:"):
        return ":memory:"
    return str(Path(database).with_name(Path(database).name + ".keys"))


def attach_key_store(dbapi_connection: Any, database: str) -> None:
    """Attach the key store to a fresh SQLite connection, before its pragmas are set (they
    then apply to both files: WAL, secure_delete)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (key_store_path(database),))
        # A database restored or copied to a new place starts with an empty key store (its
        # cases' values then do not open) rather than a hub that fails on a missing table.
        cursor.execute(CREATE_SQLITE)
    finally:
        cursor.close()
