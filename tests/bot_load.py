"""Load test of the real bot process against the Bot API stand-in, and the photos the bot tests send.

`run_load_test()` starts the stand-in and `python -m bot` pointed at it, has `users` users send
`photos_per_user` photos each (all at once, as a steady stream, or each user in turn) and measures from
each update's injection to the bot's reply.
scripts/benchmark.py prints its result; tests/test_bot_process.py runs a small one. tests/ must be on
sys.path to import this module (pytest puts it there).
"""

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

from paths import ROOT
from telegram_stand_in import StandInUser, TelegramStandIn

from preprocessing.synthetic import DigitSource, SyntheticPhoto, render_photo

# Synthetic phone photos (kind, seed) of stroke-drawn digits (no data set needed) that the shipped model
# reads right with every digit at 99 % confidence or more: tests assert on their readings.
REFERENCE_PHOTOS = [("single", 5), ("number", 4), ("number", 9), ("two_rows", 15)]


@cache
def _reference_photos() -> tuple[SyntheticPhoto, ...]:
    digits = DigitSource.strokes_only()
    return tuple(render_photo(kind, seed, digits) for kind, seed in REFERENCE_PHOTOS)


def reference_photos() -> list[SyntheticPhoto]:
    return list(_reference_photos())


def start_bot(api: TelegramStandIn, workdir: Path, **settings: str) -> subprocess.Popen:
    """`python -m bot` in `workdir` (its feedback store and log go there), talking to the stand-in."""
    env = {
        **os.environ,
        **api.bot_env(),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "FEEDBACK_DB": str(workdir / "feedback.sqlite3"),
        **settings,
    }
    with open(workdir / "bot.log", "wb") as log:  # a file, not a pipe: a chatty bot never blocks on a full pipe
        return subprocess.Popen([sys.executable, "-m", "bot"], cwd=workdir, env=env, stdout=log, stderr=log)


async def stop_bot(process: subprocess.Popen, timeout: float = 15.0) -> int:
    """SIGTERM (a graceful stop), then SIGKILL if it hangs; returns the exit code.

    Waits without blocking the event loop: the stand-in must keep answering the bot while it shuts down.
    """
    process.terminate()
    try:
        return await asyncio.wait_for(asyncio.to_thread(process.wait), timeout)
    except TimeoutError:
        process.kill()
        return await asyncio.to_thread(process.wait)


async def wait_until_polling(api: TelegramStandIn, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not api.calls_to("getUpdates"):
        if process.poll() is not None:
            raise RuntimeError(f"the bot exited with code {process.returncode} before polling")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot did not start polling within {timeout} s")
        await asyncio.sleep(0.05)


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def _send_all(
    api: TelegramStandIn, sends: list[tuple[StandInUser, SyntheticPhoto]], over_seconds: float, in_turn: bool
) -> list[dict]:
    """Send the photos all at once, evenly over `over_seconds`, or each user's after the last one's answer."""
    if in_turn:
        return await _send_in_turn(api, sends)
    if not over_seconds:
        return await asyncio.gather(*(person.send_photo(photo.image) for person, photo in sends))
    messages, start = [], time.perf_counter()
    for index, (person, photo) in enumerate(sends):
        await asyncio.sleep(max(0.0, start + index * over_seconds / len(sends) - time.perf_counter()))
        messages.append(await person.send_photo(photo.image))
    return messages


async def _send_in_turn(api: TelegramStandIn, sends: list[tuple[StandInUser, SyntheticPhoto]]) -> list[dict]:
    """Every user at once, each sending their next photo when the bot has answered the last (in `sends` order)."""
    by_user: dict[int, list[tuple[int, SyntheticPhoto]]] = {}
    for index, (person, photo) in enumerate(sends):
        by_user.setdefault(person.id, []).append((index, photo))
    messages: list[dict] = [{}] * len(sends)

    async def converse(person: StandInUser, photos: list[tuple[int, SyntheticPhoto]]) -> None:
        for index, photo in photos:
            messages[index] = await person.send_photo(photo.image)
            try:
                await api.reply_to(messages[index], timeout=60)
            except AssertionError:
                pass  # the user gives up waiting and sends the next; counted as unanswered

    people = {person.id: person for person, _ in sends}
    await asyncio.gather(*(converse(people[user], photos) for user, photos in by_user.items()))
    return messages


async def run_load_test(
    users: int = 20,
    photos_per_user: int = 10,
    messages_per_second: float = 0,
    over_seconds: float = 0.0,
    in_turn: bool = False,
    timeout: float = 120.0,
) -> dict:
    """Send users x photos_per_user photos to the real bot process; latency from update to reply.

    The photos go all at once (over_seconds=0), so the last answers wait for all the others: p95 then
    measures the queue, about 0.95 x photos / throughput. over_seconds > 0 spreads them evenly instead,
    a steady stream, whose latency is the bot's own while it keeps up. in_turn=True has every user send
    their next photo when the last is answered, as people do: as many photos in flight as users.
    messages_per_second is the bot's overall flood limit (TELEGRAM_MESSAGES_PER_SECOND): 0 measures the
    bot itself; 30, the default for api.telegram.org, caps the bot at 30 requests a second and, with a
    chat action and an answer per photo, at 15 photos a second.
    """
    photos = reference_photos()
    async with TelegramStandIn() as api:
        with tempfile.TemporaryDirectory(prefix="bot-load-") as workdir:
            process = start_bot(
                api,
                Path(workdir),
                LOG_LEVEL="WARNING",
                USER_PHOTOS_PER_MINUTE=str(max(20, photos_per_user)),
                TELEGRAM_MESSAGES_PER_SECOND=str(messages_per_second),
            )
            try:
                await wait_until_polling(api, process)
                people = [api.user(500_000 + number) for number in range(users)]
                for photo in photos:
                    api.photo_sizes(photo.image)  # made now, not while the clock runs
                sends = [(person, photos[(i + round_) % len(photos)]) for round_ in range(photos_per_user)
                         for i, person in enumerate(people)]  # fmt: skip
                messages = await _send_all(api, sends, over_seconds, in_turn)
                try:
                    await api.wait_until(lambda: all(api.replies_to(m) for m in messages), timeout)
                except AssertionError:
                    pass  # report what was answered
                log_tail = (Path(workdir) / "bot.log").read_bytes()[-2000:].decode(errors="replace")
            finally:
                await stop_bot(process)
    answers = {m["message_id"]: api.replies_to(m)[0] for m in messages if api.replies_to(m)}
    correct = sum(answers[m["message_id"]]["text"].split("\n")[0] == photo.text
                  for m, (_, photo) in zip(messages, sends, strict=True) if m["message_id"] in answers)  # fmt: skip
    milliseconds = [api.reply_latency(m) * 1000 for m in messages if m["message_id"] in answers]
    first_sent = min(api.injected_at.values())
    last_answered = max((api.sent_at[(a["chat"]["id"], a["message_id"])] for a in answers.values()), default=first_sent)
    return {
        "sent": len(messages),
        "answered": len(answers),
        "correct": correct,
        "photos_per_s": round(len(answers) / (last_answered - first_sent), 1) if answers else 0.0,
        "p50_ms": round(_percentile(milliseconds, 50), 1) if answers else None,
        "p95_ms": round(_percentile(milliseconds, 95), 1) if answers else None,
        "sent_over_s": over_seconds,
        "messages_per_second_limit": messages_per_second,
        "bot_log_tail": "" if len(answers) == len(messages) else log_tail,
    }


if __name__ == "__main__":
    print(asyncio.run(run_load_test()))
