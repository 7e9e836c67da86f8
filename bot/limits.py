"""Per-user photo rate limit, per-chat answer order and chat-action throttle, all in memory."""

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass
class Refusal:
    retry_in: float  # seconds until the user may send another photo
    first: bool  # the user has not been told yet in this stretch of refusals


class PhotoRateLimit:
    """At most `per_window` photos per user in any `window` seconds (a sliding window)."""

    def __init__(self, per_window: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_window = per_window
        self.window = window
        self.clock = clock
        self._accepted: dict[int, deque[float]] = {}
        self._told_until: dict[int, float] = {}
        self._next_sweep = self.clock() + window

    def take(self, user_id: int) -> Refusal | None:
        """None (and the photo counts) if the user is under the limit, else a Refusal."""
        now = self.clock()
        if now >= self._next_sweep:
            self._forget_quiet_users(now)
        accepted = self._accepted.setdefault(user_id, deque())
        while accepted and accepted[0] <= now - self.window:
            accepted.popleft()
        if len(accepted) < self.per_window:
            accepted.append(now)
            self._told_until.pop(user_id, None)
            return None
        retry_in = accepted[0] + self.window - now
        first = self._told_until.get(user_id, 0.0) <= now
        if first:
            self._told_until[user_id] = now + retry_in
        return Refusal(retry_in, first)

    def _forget_quiet_users(self, now: float) -> None:
        """Drop users with no photo in the window, or every user ever seen would cost memory; once a window."""
        self._accepted = {
            user: times for user, times in self._accepted.items() if times and times[-1] > now - self.window
        }
        self._told_until = {user: until for user, until in self._told_until.items() if until > now}
        self._next_sweep = now + self.window


class ChatOrder:
    """Answers in arrival order per chat, while the work behind them overlaps.

    A handler takes its turn before its first await (so turns follow the order in which updates were
    dispatched), does its slow work (download, recognition) at once, and awaits `answer_turn()` just
    before replying: that returns once every earlier turn of the chat has ended.
    """

    def __init__(self) -> None:
        self._open: dict[int, list[asyncio.Event]] = {}  # per chat, one event per turn not yet ended

    @asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[Callable[[], Awaitable[None]]]:
        open_turns = self._open.setdefault(chat_id, [])
        earlier, ended = list(open_turns), asyncio.Event()
        open_turns.append(ended)

        async def answer_turn() -> None:
            for turn_ended in earlier:
                await turn_ended.wait()

        try:
            yield answer_turn
        finally:
            ended.set()
            open_turns.remove(ended)
            if not open_turns:
                del self._open[chat_id]  # idle chats cost no memory


class Throttle:
    """At most one event per key every `interval` seconds: a "typing..." shown per chat, say."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[object, float] = {}

    def allow(self, key: object) -> bool:
        now = self.clock()
        if now - self._last.get(key, -self.interval) < self.interval:
            return False
        self._last[key] = now
        if len(self._last) > 10_000:  # forget keys gone quiet, so memory stays bounded
            self._last = {k: t for k, t in self._last.items() if now - t < self.interval}
        return True
