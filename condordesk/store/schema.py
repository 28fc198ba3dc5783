"""Journal schema, as forward migrations keyed by the version they produce."""

from __future__ import annotations

SCHEMA_VERSION = 1

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE condors (
            id TEXT PRIMARY KEY,
            day TEXT NOT NULL,
            state TEXT NOT NULL,
            created_ts TEXT NOT NULL,
            expiry TEXT NOT NULL,
            long_put TEXT NOT NULL, short_put TEXT NOT NULL,
            short_call TEXT NOT NULL, long_call TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            target_credit TEXT NOT NULL,
            credit TEXT, opened_ts TEXT, closed_ts TEXT,
            exit_reason TEXT, exit_debit TEXT,
            commissions TEXT NOT NULL DEFAULT '0',
            realized_pnl TEXT,
            first_trade INTEGER NOT NULL DEFAULT 0,
            profit_target TEXT, stop_trigger TEXT, stop_limit TEXT, stop_backup TEXT,
            note TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX condors_day ON condors(day)",
        "CREATE INDEX condors_state ON condors(state)",
        """CREATE TABLE orders (
            order_ref TEXT PRIMARY KEY,
            condor_id TEXT NOT NULL REFERENCES condors(id),
            role TEXT NOT NULL,
            request TEXT NOT NULL,
            status TEXT NOT NULL,
            created_ts TEXT NOT NULL,
            updated_ts TEXT,
            order_id INTEGER, perm_id INTEGER,
            filled INTEGER NOT NULL DEFAULT 0,
            avg_price TEXT,
            reason TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX orders_condor ON orders(condor_id)",
        "CREATE INDEX orders_order_id ON orders(order_id)",
        "CREATE INDEX orders_status ON orders(status)",
        """CREATE TABLE fills (
            exec_id TEXT PRIMARY KEY,
            order_ref TEXT NOT NULL,
            order_id INTEGER, perm_id INTEGER,
            condor_id TEXT,
            contract TEXT NOT NULL,
            side TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            price TEXT NOT NULL,
            ts TEXT NOT NULL,
            commission TEXT
        )""",
        "CREATE INDEX fills_condor ON fills(condor_id)",
        """CREATE TABLE stops (
            oca_group TEXT PRIMARY KEY,
            condor_id TEXT NOT NULL REFERENCES condors(id),
            limit_ref TEXT NOT NULL, market_ref TEXT NOT NULL,
            trigger TEXT NOT NULL, limit_price TEXT NOT NULL, backup_trigger TEXT NOT NULL,
            state TEXT NOT NULL,
            placed_ts TEXT NOT NULL
        )""",
        "CREATE INDEX stops_condor ON stops(condor_id)",
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL
        )""",
        "CREATE TABLE daily (day TEXT PRIMARY KEY, figures TEXT NOT NULL)",
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
}
