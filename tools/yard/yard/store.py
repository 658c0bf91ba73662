"""SQLite persistence for one model: state snapshot, hook runs and the debug log."""

import os
import pickle
import sqlite3
import threading
import time
from typing import List, Optional

from yard.model import ModelState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), state BLOB);
CREATE TABLE IF NOT EXISTS hooks (id INTEGER PRIMARY KEY AUTOINCREMENT, unit TEXT, hook TEXT,
    start REAL, duration REAL, code INTEGER, skipped INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL, entity TEXT,
    level TEXT, module TEXT, message TEXT);
"""


class Store:
    """The model's SQLite file (``$YARD_HOME/<model>/state.db``)."""

    def __init__(self, path: str):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def load(self) -> Optional[ModelState]:
        """The last saved state, or None for a new model."""
        with self._lock:
            row = self._db.execute("SELECT state FROM snapshot WHERE id = 1").fetchone()
        return pickle.loads(row[0]) if row else None

    def save(self, state: ModelState) -> None:
        """Replace the snapshot."""
        blob = pickle.dumps(state)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO snapshot (id, state) VALUES (1, ?)", (blob,))

    def add_hook(self, unit: str, hook: str, start: float, duration: float, code: int,
                 skipped: bool = False) -> None:
        """Record one hook run."""
        with self._lock:
            self._db.execute("INSERT INTO hooks (unit, hook, start, duration, code, skipped) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (unit, hook, start, duration, code, int(skipped)))

    def hooks(self, unit: Optional[str] = None) -> List[dict]:
        """Hook runs in order, optionally of one unit or application."""
        with self._lock:
            rows = self._db.execute("SELECT id, unit, hook, start, duration, code, skipped "
                                    "FROM hooks ORDER BY start, id").fetchall()
        out = []
        for i, u, h, s, d, c, sk in rows:
            if unit and u != unit and u.split("/")[0] != unit:
                continue
            out.append({"id": i, "unit": u, "hook": h, "start": s, "duration": d,
                        "exit-code": c, "skipped": bool(sk)})
        return out

    def add_log(self, entity: str, level: str, module: str, message: str,
                ts: Optional[float] = None) -> None:
        """Append a debug-log line."""
        with self._lock:
            self._db.execute("INSERT INTO log (ts, entity, level, module, message) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (ts or time.time(), entity, level, module, message))

    def logs(self, after: int = 0) -> List[tuple]:
        """Log rows ``(id, ts, entity, level, module, message)`` with id > ``after``."""
        with self._lock:
            return self._db.execute("SELECT id, ts, entity, level, module, message FROM log "
                                    "WHERE id > ? ORDER BY id", (after,)).fetchall()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
