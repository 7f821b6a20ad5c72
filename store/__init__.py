"""Storage: engine, sessions, shared column types, audit trail and migrations."""

from store.audit import AuditEntry, record_audit
from store.base import Base
from store.engine import Database
from store.types import UTCDateTime, utcnow

__all__ = ["AuditEntry", "Base", "Database", "UTCDateTime", "record_audit", "utcnow"]
