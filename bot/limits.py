"""Per-user photo rate limit and per-chat answer order, both in memory."""

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


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

    def take(self, user_id: int) -> Refusal | None:
        """None (and the photo counts) if the user is under the limit, else a Refusal."""
        now = self.clock()
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


@dataclass
class _Queue:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0  # handlers holding or waiting for the lock


class ChatOrder:
    """One turn at a time per chat, in arrival order, so a user's answers come in the order of their photos.

    asyncio.Lock wakes its waiters first-in first-out, and handlers ask for their turn before their first
    await, so turns follow the order in which updates were dispatched.
    """

    def __init__(self) -> None:
        self._queues: dict[int, _Queue] = {}

    @asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        queue = self._queues.setdefault(chat_id, _Queue())
        queue.waiting += 1
        try:
            async with queue.lock:
                yield
        finally:
            queue.waiting -= 1
            if queue.waiting == 0:
                del self._queues[chat_id]  # idle chats cost no memory
