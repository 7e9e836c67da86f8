"""The bot's parts on their own: replies, settings, limits, log redaction, Bot API requests, the feedback store."""

import asyncio
import io
import logging
import re
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from paths import ROOT
from telegram import Bot
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import ExtBot

from bot import config, replies
from bot.app import RetryingRateLimiter
from bot.config import ConfigError, load_settings
from bot.feedback import FeedbackStore
from bot.limits import ChatOrder, PhotoRateLimit, Throttle
from bot.logs import REDACTED, RedactToken
from bot.request import AiohttpRequest
from model.checkpoint import DEFAULT_MODEL_PATH
from preprocessing.recognize import NO_DIGIT, OK, UNSURE, Digit, Recognition

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def digit(value: int, confidence: float, runners_up: tuple[int, int] = (7, 9), row: int = 0) -> Digit:
    rest = (1 - confidence) / 2
    top3 = [(value, confidence), (runners_up[0], rest * 1.5), (runners_up[1], rest * 0.5)]
    probabilities = np.zeros(10)
    for k, p in top3:
        probabilities[k] = p
    return Digit(value, confidence, top3, (0, 0, 10, 10), row, probabilities, np.full((28, 28), value, np.uint8))


def recognition(status: str, *digits: Digit) -> Recognition:
    rows = max((d.row for d in digits), default=-1) + 1
    text = " ".join("".join(str(d.digit) for d in digits if d.row == r) for r in range(rows))
    return Recognition(status, text, list(digits))


# -- replies ------------------------------------------------------------------------------------------------


def test_answer_for_a_sure_number_is_the_number_in_bold_then_confidences():
    text = replies.answer_text(recognition(OK, digit(4, 0.99), digit(2, 0.97)), threshold=0.8)
    assert text == "<b>42</b>\nConfidence per digit: 4 99% · 2 97%"


def test_answer_for_a_single_digit_gives_the_two_runners_up():
    text = replies.answer_text(recognition(OK, digit(7, 0.88, runners_up=(1, 9))), threshold=0.8)
    assert text == "<b>7</b>\nConfidence: 88%\nRunner-up guesses: 1 (9%), 9 (3%)"


def test_about_says_whether_the_model_was_trained_or_fine_tuned():
    metrics = {"parameters": 437162, "date": "2026-11-24T12:00:00", "epochs": 2, "train_seconds": 300.0}
    metrics |= {"torch_version": "2.14.1", "temperature": 1.1}
    scratch = replies.about_text("DigitNet", "a CNN", metrics | {"config": {"init": None}}, {})
    tuned = replies.about_text("DigitNet", "a CNN", metrics | {"config": {"init": "base/model.pt"}}, {})
    assert "trained 2026-11-24 for 2 epochs (5 min)" in scratch
    assert "fine-tuned 2026-11-24 for 2 epochs (5 min)" in tuned


def test_unsure_answer_says_so_and_lists_guesses_for_the_doubtful_digits_only():
    text = replies.answer_text(recognition(UNSURE, digit(4, 0.999), digit(2, 0.55, (7, 1))), threshold=0.8)
    assert text.split("\n") == [
        "<b>42</b>",
        "I'm not sure about this one.",
        "Confidence per digit: 4 >99% · 2 55%",
        "Best guesses for the doubtful digits:",
        "• digit 2: 2 (55%), 7 (34%), 1 (11%)",
    ]


def test_two_rows_are_read_with_a_space_and_no_digit_gets_tips():
    two_rows = recognition(OK, digit(4, 0.99), digit(2, 0.99), digit(1, 0.99, row=1))
    assert replies.answer_text(two_rows, 0.8).startswith("<b>42 1</b>\n")
    no_digit = replies.answer_text(Recognition(NO_DIGIT), 0.8)
    assert no_digit.startswith("I couldn't find a digit in this photo.") and no_digit.count("•") == 4


def test_error_messages_are_escaped_for_html():
    assert replies.unreadable_text("a <b> & c") == "I couldn't read this image: a &lt;b&gt; &amp; c."


def test_callback_data_fits_telegrams_64_bytes_at_the_longest():
    largest_message_id = 2**31 - 1
    longest = "9" * (replies.MAX_ENTRY - 1)
    markups = [replies.answer_keyboard(largest_message_id, True), replies.keypad(largest_message_id, longest)]
    data = [b.callback_data for markup in markups for row in markup.inline_keyboard for b in row]
    assert max(len(d.encode()) for d in data) <= 64
    assert all(replies.parse_callback(d).message_id == largest_message_id for d in data)


def test_keypad_buttons_carry_the_entry_after_the_key():
    keys = {b.text: b.callback_data for row in replies.keypad(5, "12").inline_keyboard for b in row}
    assert keys["3"] == "key:5:123" and keys["⌫"] == "key:5:1" and keys["↵ new row"] == "key:5:12_"
    assert keys["✔️ Done"] == "done:5:12" and keys["Cancel"] == "cancel:5" and keys["Right number: 12"] == "key:5:12"
    assert "✔️ Done" not in {b.text for row in replies.keypad(5, "").inline_keyboard for b in row}
    assert replies.entry_to_number("12_4_") == "12 4"


def test_button_patterns_accept_the_bots_data_and_reject_the_rest():
    assert re.match(replies.button_pattern(replies.KEY), "key:12:3_4")
    assert re.match(replies.button_pattern(replies.CORRECT), "ok:12")
    for junk in ["ok:", "ok:12:x", "ok:abc", "key:1:" + "1" * 41, "see:12;drop"]:
        assert not any(re.match(replies.button_pattern(action), junk) for action in ("ok", "key", "see"))


@pytest.mark.parametrize(
    "typed, number",
    [
        ("42", "42"),
        (" 4 2 ", "42"),
        ("42\n17", "42 17"),
        ("4a", None),
        ("", None),
        ("1" * 41, None),
        ("²", None),
        ("①", None),
        ("３４", "34"),
        ("٣\n٤", "3 4"),
    ],  # fmt: skip
)
def test_typed_corrections_are_normalised(typed, number):
    """Stored in ASCII: other scripts' decimal digits are converted, digit-like signs ("²") refused."""
    assert replies.normalise_number(typed) == number


def test_percentages_never_claim_certainty():
    assert [replies.percent(p) for p in (1.0, 0.9996, 0.5, 0.001, 0.0)] == ["100%", ">99%", "50%", "<1%", "0%"]


# -- settings -----------------------------------------------------------------------------------------------


def test_settings_defaults():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.base_url == "https://api.telegram.org/bot" and settings.model_path == DEFAULT_MODEL_PATH
    assert settings.user_photos_per_minute == 20 and settings.allowed_user_ids is None
    assert settings.feedback_db == Path("data/feedback.sqlite3") and settings.webhook_url is None


def test_settings_are_parsed():
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": f" {TOKEN} ",
            "ALLOWED_USER_IDS": "12, 34",
            "CONFIDENCE_THRESHOLD": "0.6",
            "WEBHOOK_URL": "https://bot.example.org/telegram/hook",
            "WEBHOOK_SECRET": "s3cret_-X",
            "WEBHOOK_PORT": "8080",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.token == TOKEN and settings.allowed_user_ids == {12, 34} and settings.confidence_threshold == 0.6
    assert settings.webhook_path == "telegram/hook" and settings.webhook_port == 8080 and settings.log_level == "DEBUG"


def test_env_example_documents_every_setting_with_its_default():
    example = ROOT / ".env.example"
    documented = dict(
        line.split("=", 1) for line in example.read_text().splitlines() if line.strip() and not line.startswith("#")
    )
    read_by_the_bot = set(re.findall(r'env(?:\.get\(|, )"([A-Z_]+)"', Path(config.__file__).read_text()))
    assert set(documented) == read_by_the_bot
    assert load_settings({**documented, "TELEGRAM_BOT_TOKEN": TOKEN}) == load_settings({"TELEGRAM_BOT_TOKEN": TOKEN})


@pytest.mark.parametrize(
    "env, says",
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "123456789:short"}, "TELEGRAM_BOT_TOKEN is malformed"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://x.org/hook"}, "WEBHOOK_SECRET is required"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_URL": "http://x.org/hook", "WEBHOOK_SECRET": "s"}, "https://"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "USER_PHOTOS_PER_MINUTE": "0"}, "USER_PHOTOS_PER_MINUTE must be at least 1"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "CONFIDENCE_THRESHOLD": "high"}, "CONFIDENCE_THRESHOLD must be a float"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "ALLOWED_USER_IDS": "12,@bob"}, "ALLOWED_USER_IDS must be"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "CONFIDENCE_THRESHOLD": "nan"}, "CONFIDENCE_THRESHOLD must be a finite"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MESSAGES_PER_SECOND": "0.5"}, "must be 0 (off) or at least 1"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MESSAGES_PER_SECOND": "inf"}, "must be a finite number"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "ALLOWED_USER_IDS": "12,²"}, "ALLOWED_USER_IDS must be"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "api.telegram.org/bot"}, "TELEGRAM_BASE_URL must be"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "http://[::1/bot"}, "TELEGRAM_BASE_URL must be"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_FILE_URL": "http://h:99999/f"}, "TELEGRAM_BASE_FILE_URL must"),
    ],
)
def test_bad_settings_are_one_clear_line(env, says):
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert says in str(error.value) and "\n" not in str(error.value)


def test_the_overall_rate_limit_may_be_off_or_at_least_one_per_second():
    for rate in (0.0, 1.0, 2.5):
        settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_MESSAGES_PER_SECOND": f"{rate}"})
        assert settings.messages_per_second == rate


def test_a_malformed_token_is_not_repeated_in_the_error():
    secret_but_malformed = "123456789:AAH-secret with a space-0123456789abcdef"
    with pytest.raises(ConfigError) as error:
        load_settings({"TELEGRAM_BOT_TOKEN": secret_but_malformed})
    assert "secret" not in str(error.value)


# -- limits -------------------------------------------------------------------------------------------------


def test_photo_limit_is_a_sliding_window_and_tells_the_user_once():
    now = [0.0]
    limit = PhotoRateLimit(per_window=2, window=60, clock=lambda: now[0])
    assert limit.take(1) is None
    now[0] = 30
    assert limit.take(1) is None
    refusal = limit.take(1)
    assert refusal.first and refusal.retry_in == pytest.approx(30)
    assert limit.take(2) is None  # other users are not affected
    now[0] = 45
    assert not limit.take(1).first
    now[0] = 60.5  # the first photo left the window
    assert limit.take(1) is None
    assert limit.take(1).first  # a new stretch of refusals is told again


async def test_chat_order_serves_turns_in_arrival_order_per_chat():
    order, served, working = ChatOrder(), [], {}

    async def handle(chat: int, number: int, work: float, answers: bool = True) -> None:
        async with order.turn(chat) as answer_turn:
            started = time.perf_counter()
            await asyncio.sleep(work)  # the slow part runs alongside the chat's other photos
            working[chat, number] = (started, time.perf_counter())
            if answers:
                await answer_turn()
                served.append((chat, number))

    # The first photo of chat 1 takes longest, yet chat 1's answers keep their order; chat 2 is not held up,
    # and a turn that ends without answering (photo 3) holds up nobody.
    await asyncio.gather(
        handle(1, 1, 0.2), handle(1, 2, 0.2), handle(2, 1, 0.0), handle(1, 3, 0.0, answers=False), handle(1, 4, 0.01)
    )
    assert [n for c, n in served if c == 1] == [1, 2, 4] and served[0] == (2, 1)
    assert working[1, 2][0] < working[1, 1][1]  # the two slow photos of chat 1 were read side by side
    assert not order._open  # nothing kept for idle chats


def test_photo_limit_forgets_users_once_their_window_has_passed():
    now = [0.0]
    limit = PhotoRateLimit(per_window=1, window=60, clock=lambda: now[0])
    for user in (1, 2, 3):
        limit.take(user)
    assert limit.take(3).first  # refused, and told
    now[0] = 61
    assert limit.take(4) is None
    assert list(limit._accepted) == [4] and not limit._told_until  # users 1 to 3 cost nothing any more


def test_throttle_allows_one_event_per_key_and_interval():
    now = [0.0]
    throttle = Throttle(4.0, clock=lambda: now[0])
    assert throttle.allow(("chat", 1)) and throttle.allow(("chat", 2))
    now[0] = 3.9
    assert not throttle.allow(("chat", 1))
    now[0] = 4.0
    assert throttle.allow(("chat", 1))


# -- log redaction ------------------------------------------------------------------------------------------


def test_token_is_scrubbed_from_messages_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactToken(TOKEN))
    logger = logging.getLogger("test_bot_units.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Set Bot API URL: https://api.telegram.org/bot%s", TOKEN)
        logger.warning("url %s", "https://api.telegram.org/bot" + TOKEN.replace(":", "%3A") + "/getMe")
        logger.warning("another bot: 987654321:ZZZdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
        try:
            raise RuntimeError(f"failed: https://api.telegram.org/bot{TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output and TOKEN.split(":")[1] not in output and "ZZZdqTcv" not in output
    assert output.count(REDACTED) == 4 and "RuntimeError" in output


# -- Bot API requests ---------------------------------------------------------------------------------------


async def test_requests_carry_uploads_and_fail_as_telegram_errors(stand_in, known_photos):
    stand_in.user(42).message(text="hello")  # the stand-in knows chat 42 from now on
    bot = Bot(stand_in.token, base_url=stand_in.base_url, base_file_url=stand_in.base_file_url,
              request=AiohttpRequest(2, read_timeout=0.3))  # fmt: skip
    async with bot:
        sent = await bot.send_photo(42, known_photos[0].image, caption="multipart")
        uploaded = await (await bot.get_file(sent.photo[-1].file_id)).download_as_bytearray()
        assert bytes(uploaded) == known_photos[0].image and sent.caption == "multipart"
        stand_in.fail_next("sendMessage", None, delay=1.0)  # answers, but after the read timeout
        with pytest.raises(TimedOut):
            await bot.send_message(42, "too slow")
    requests = AiohttpRequest(1), AiohttpRequest(1)
    unreachable = Bot(stand_in.token, base_url="http://127.0.0.1:9/bot", request=requests[0],
                      get_updates_request=requests[1])  # fmt: skip
    with pytest.raises(NetworkError) as refused:
        await unreachable.initialize()
    assert not isinstance(refused.value, TimedOut)
    for request in requests:  # a Bot whose start failed leaves them open
        await request.shutdown()


async def test_a_malformed_bot_api_url_fails_at_once_without_quoting_the_token(caplog):
    # Settings refuse such URLs; this is the second line of defence, for one that gets past them.
    requests = AiohttpRequest(1), AiohttpRequest(1)
    bot = ExtBot(TOKEN, base_url="http://:80/bot", request=requests[0], get_updates_request=requests[1],
                 rate_limiter=RetryingRateLimiter())  # fmt: skip
    with caplog.at_level(logging.WARNING), pytest.raises(TelegramError) as error:
        await bot.initialize()
    for request in requests:
        await request.shutdown()
    assert not isinstance(error.value, NetworkError)  # NetworkErrors are retried; no retry can mend a URL
    assert TOKEN.split(":")[1] not in str(error.value) and "retry" not in caplog.text


async def test_requests_use_the_proxy_the_environment_names(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    request = AiohttpRequest(1)
    await request.initialize()
    try:
        assert request.proxy_for("https://api.telegram.org/bot1:x/getMe") == "http://proxy.example:3128"
        assert request.proxy_for("http://127.0.0.1:8081/bot1:x/getMe") is None  # no HTTP_PROXY, and NO_PROXY
    finally:
        await request.shutdown()


# -- feedback store -----------------------------------------------------------------------------------------


async def test_feedback_store_keeps_answers_and_verdicts_across_reopening(tmp_path):
    path = tmp_path / "nested" / "feedback.sqlite3"
    store = FeedbackStore(path)
    await store.open()
    read = recognition(OK, digit(4, 0.99), digit(2, 0.6))
    first = await store.add_answer(7, 7, 100, "file-a", read)
    second = await store.add_answer(7, 7, 101, "file-b", recognition(OK, digit(1, 0.9)))
    await store.add_verdict(first, 7, False, "47")
    await store.add_verdict(second, 7, True, "1")
    await store.close()

    store = FeedbackStore(path)
    await store.open()
    stored = await store.find_answer(7, 100)
    stats = await store.live_stats()
    await store.close()
    assert (stored.id, stored.file_id, stored.text) == (first, "file-a", "42")
    assert (stats.confirmed, stats.corrected) == (1, 1) and stats.since is not None
    assert stats.per_digit == {1: (1, 1), 4: (1, 1), 7: (0, 1)}
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        crops = connection.execute("SELECT crops FROM answers WHERE id = ?", (first,)).fetchone()[0]
    assert np.array_equal(np.frombuffer(crops, np.uint8).reshape(-1, 28, 28), np.stack([d.image for d in read.digits]))


async def test_a_photo_delivered_twice_keeps_its_answer_id_and_verdicts(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    await store.open()
    first = await store.add_answer(7, 7, 100, "file-a", recognition(OK, digit(4, 0.99)))
    await store.add_verdict(first, 7, True, "4")
    again = await store.add_answer(7, 7, 100, "file-a", recognition(OK, digit(4, 0.99)))  # the same update
    stats = await store.live_stats()
    await store.close()
    assert again == first and (stats.confirmed, stats.corrected) == (1, 0)


async def test_a_repeated_verdict_is_stored_once_and_a_changed_one_again(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    await store.open()
    answer = await store.add_answer(7, 7, 100, "file-a", recognition(OK, digit(4, 0.99)))
    stored = [await store.add_verdict(answer, 7, *verdict) for verdict in [(True, "4"), (True, "4"), (False, "9")]]
    await store.close()
    assert stored == [True, False, True]
    with sqlite3.connect(tmp_path / "feedback.sqlite3") as connection:
        assert connection.execute("SELECT correct, label FROM verdicts ORDER BY id").fetchall() == [(1, "4"), (0, "9")]


async def test_live_stats_skip_labels_that_are_not_ascii_digits(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    await store.open()
    first = await store.add_answer(7, 7, 100, "file-a", recognition(OK, digit(4, 0.99)))
    second = await store.add_answer(7, 7, 101, "file-b", recognition(OK, digit(1, 0.99)))
    await store.add_verdict(first, 7, True, "4")
    with sqlite3.connect(path) as connection:  # as an older version of the bot stored "²" and "３"
        for label in ("３", "²"):  # the latest one counts
            connection.execute(
                "INSERT INTO verdicts (time, answer_id, user_id, correct, label) VALUES ('2026-01-01', ?, 8, 0, ?)",
                (second, label),
            )
    stats = await store.live_stats()
    await store.close()
    assert (stats.confirmed, stats.corrected) == (1, 1) and stats.per_digit == {4: (1, 1)}
