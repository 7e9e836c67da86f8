"""The feedback store: every answered photo and every verdict on it, in one SQLite file.

Writes go through one worker thread that owns the connection, so the event loop never waits on the disk
and writes never interleave. WAL mode with synchronous=NORMAL: each commit is in the WAL file before the
call returns, so a crash or restart of the bot loses nothing (only a power cut could lose the last
commits). The 28x28 crops are kept as raw bytes, one 784-byte image per digit read, in reading order.
Needs SQLite 3.35 or newer (2021) for INSERT ... ON CONFLICT ... RETURNING.
"""

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

import numpy as np

from preprocessing.recognize import Recognition

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,              -- UTC, ISO 8601
    user_id INTEGER NOT NULL,
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,     -- the user's photo message
    file_id TEXT NOT NULL,           -- to download the photo again
    status TEXT NOT NULL,            -- ok, unsure, no_digit
    text TEXT NOT NULL,              -- what the bot read, rows separated by a space
    confidences TEXT NOT NULL,       -- JSON: [{"digit", "confidence", "top3"}] in reading order
    crops BLOB NOT NULL,             -- N x 28 x 28 uint8, the images the model saw
    UNIQUE (chat_id, message_id)
);
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    answer_id INTEGER NOT NULL REFERENCES answers (id),
    user_id INTEGER NOT NULL,
    correct INTEGER NOT NULL,        -- 1: the user confirmed the reading, 0: the user corrected it
    label TEXT NOT NULL              -- the right number: the reading confirmed or the user's correction
);
"""


@dataclass
class StoredAnswer:
    id: int
    file_id: str
    text: str


@dataclass
class LiveStats:
    """Verdicts from users: the latest verdict per answer counts."""

    confirmed: int = 0
    corrected: int = 0
    since: str | None = None
    per_digit: dict[int, tuple[int, int]] = field(default_factory=dict)  # true digit -> (read right, checked)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback")
        self._connection: sqlite3.Connection | None = None

    async def _call(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    # -- run in the worker thread -------------------------------------------------------------------------

    def _open(self) -> None:
        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError(
                f"the feedback store needs SQLite 3.35 or newer, this Python has {sqlite3.sqlite_version}"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _add_answer(self, user_id: int, chat_id: int, message_id: int, file_id: str, result: Recognition) -> int:
        confidences = [
            {"digit": d.digit, "confidence": round(d.confidence, 4), "top3": [[k, round(p, 4)] for k, p in d.top3]}
            for d in result.digits
        ]
        crops = b"".join(np.ascontiguousarray(d.image, dtype=np.uint8).tobytes() for d in result.digits)
        # A photo delivered twice keeps its row and id (INSERT OR REPLACE would give it a new id, and
        # leave the verdicts already given on it pointing at nothing).
        rows = self._connection.execute(
            "INSERT INTO answers (time, user_id, chat_id, message_id, file_id, status, text, confidences, crops)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, message_id) DO UPDATE SET time = excluded.time,"
            " user_id = excluded.user_id, file_id = excluded.file_id, status = excluded.status, text = excluded.text,"
            " confidences = excluded.confidences, crops = excluded.crops RETURNING id",
            (_now(), user_id, chat_id, message_id, file_id, result.status, result.text, json.dumps(confidences), crops),
        ).fetchall()  # all of them: the statement then ends, and so commits, before the call returns
        return rows[0][0]

    def _find_answer(self, chat_id: int, message_id: int) -> StoredAnswer | None:
        row = self._connection.execute(
            "SELECT id, file_id, text FROM answers WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        ).fetchone()
        return StoredAnswer(*row) if row else None

    def _add_verdict(self, answer_id: int, user_id: int, correct: bool, label: str) -> bool:
        latest = self._connection.execute(
            "SELECT user_id, correct, label FROM verdicts WHERE answer_id = ? ORDER BY id DESC LIMIT 1", (answer_id,)
        ).fetchone()
        if latest == (user_id, int(correct), label):
            return False  # a double tap: the same user's same verdict again
        self._connection.execute(
            "INSERT INTO verdicts (time, answer_id, user_id, correct, label) VALUES (?, ?, ?, ?, ?)",
            (_now(), answer_id, user_id, int(correct), label),
        )
        return True

    def _live_stats(self) -> LiveStats:
        rows = self._connection.execute(
            "SELECT a.text, v.correct, v.label FROM verdicts v JOIN answers a ON a.id = v.answer_id"
            " WHERE v.id IN (SELECT MAX(id) FROM verdicts GROUP BY answer_id)"
        ).fetchall()
        stats = LiveStats(since=self._connection.execute("SELECT MIN(time) FROM verdicts").fetchone()[0])
        per_digit: dict[int, list[int]] = {}
        for read, correct, label in rows:
            if correct:
                stats.confirmed += 1
            else:
                stats.corrected += 1
            read_digits, true_digits = read.replace(" ", ""), label.replace(" ", "")
            if len(read_digits) != len(true_digits):
                continue  # a digit was missed or split: no digit-by-digit comparison possible
            if not (true_digits.isascii() and true_digits.isdigit()):
                continue  # a label stored before the bot took only 0-9 ("²" once was): int() would fail
            for guess, truth in zip(read_digits, true_digits, strict=True):
                counts = per_digit.setdefault(int(truth), [0, 0])
                counts[0] += guess == truth
                counts[1] += 1
        stats.per_digit = {digit: (right, total) for digit, (right, total) in sorted(per_digit.items())}
        return stats

    # -- the async API used by the handlers ---------------------------------------------------------------

    async def open(self) -> None:
        """Create the file and schema if needed."""
        await self._call(self._open)

    async def close(self) -> None:
        await self._call(self._close)
        self._executor.shutdown(wait=True)

    async def add_answer(self, user_id: int, chat_id: int, message_id: int, file_id: str, result: Recognition) -> int:
        return await self._call(self._add_answer, user_id, chat_id, message_id, file_id, result)

    async def find_answer(self, chat_id: int, message_id: int) -> StoredAnswer | None:
        return await self._call(self._find_answer, chat_id, message_id)

    async def add_verdict(self, answer_id: int, user_id: int, correct: bool, label: str) -> bool:
        """Store a verdict; False (and nothing stored) when it repeats the answer's latest verdict by the same user."""
        return await self._call(self._add_verdict, answer_id, user_id, correct, label)

    async def live_stats(self) -> LiveStats:
        return await self._call(self._live_stats)
