"""The SQLite journal (stdlib sqlite3, WAL)."""

from condordesk.store.journal import CondorRecord, FillRecord, Journal, OrderRecord, StopRecord

__all__ = ["CondorRecord", "FillRecord", "Journal", "OrderRecord", "StopRecord"]
