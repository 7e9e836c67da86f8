"""`python -m bot` as a real process: bad settings, secret-free logs, a crash, webhook mode, a small load test."""

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from bot_load import run_load_test, start_bot, stop_bot, wait_until_polling
from paths import ROOT


def run_bot_briefly(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    full_env = {**clean, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "bot"], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    "env, says",
    [
        ({}, "bot: TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "12345:not-a-real-token"}, "bot: TELEGRAM_BOT_TOKEN is malformed"),
        (
            {"TELEGRAM_BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "WEBHOOK_URL": "https://x.org/h"},
            "bot: WEBHOOK_SECRET is required in webhook mode",
        ),
    ],
    ids=["missing token", "malformed token", "webhook without secret"],
)
def test_bad_settings_exit_2_with_one_line(tmp_path, env, says):
    finished = run_bot_briefly(env, tmp_path)
    assert finished.returncode == 2
    assert finished.stderr.startswith(says) and finished.stderr.count("\n") == 1  # one line, no traceback
    assert "not-a-real-token" not in finished.stderr and not (tmp_path / "data").exists()


def test_a_base_url_without_a_scheme_is_one_clear_line_without_the_token(tmp_path):
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    finished = run_bot_briefly({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_BASE_URL": "api.telegram.org/bot"}, tmp_path)
    assert finished.returncode == 2
    assert finished.stderr.startswith("bot: TELEGRAM_BASE_URL must be an http:// or https:// URL")
    assert finished.stderr.count("\n") == 1 and token.split(":")[1] not in finished.stdout + finished.stderr


async def test_an_unexpected_error_at_start_is_one_log_line_and_exit_1(stand_in, tmp_path):
    (tmp_path / "a-file").write_text("")
    process = start_bot(stand_in, tmp_path, FEEDBACK_DB=str(tmp_path / "a-file" / "feedback.sqlite3"))
    assert await asyncio.wait_for(asyncio.to_thread(process.wait), 60) == 1
    log = (tmp_path / "bot.log").read_text()
    assert "CRITICAL bot: Stopped by an error: FileExistsError" in log.splitlines()[-1]
    assert "Traceback" not in log  # a traceback bypasses the logging filter that scrubs the token


def test_token_is_set_from_a_dotenv_file_in_the_working_directory(tmp_path):
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123456789:short\n")
    finished = run_bot_briefly({}, tmp_path)
    assert finished.returncode == 2 and "TELEGRAM_BOT_TOKEN is malformed" in finished.stderr


async def test_a_token_telegram_refuses_exits_2_without_showing_it(stand_in, tmp_path):
    revoked = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # well formed, but not the stand-in's bot
    process = start_bot(stand_in, tmp_path, TELEGRAM_BOT_TOKEN=revoked)
    assert await asyncio.wait_for(asyncio.to_thread(process.wait), 60) == 2
    log = (tmp_path / "bot.log").read_text()
    assert log.splitlines()[-1] == "bot: Telegram refused TELEGRAM_BOT_TOKEN: was it revoked, or mistyped? (@BotFather)"
    assert revoked.split(":")[1] not in log and "[REDACTED-TOKEN]" in log  # PTB's own error names the token


async def test_token_never_reaches_the_logs_at_debug(stand_in, tmp_path, known_photos):
    process = start_bot(stand_in, tmp_path, LOG_LEVEL="DEBUG")
    try:
        await wait_until_polling(stand_in, process)
        stand_in.fail_next("sendMessage", 500)  # a retry, logged with the failing request
        reply = await stand_in.reply_to(await stand_in.user(1001).send_photo(known_photos[0].image))
        stand_in.fail_next("getFile", 400)  # an error, logged with its traceback; the user gets an apology
        await stand_in.user(1001).send_photo(known_photos[1].image)
        await stand_in.wait_until(lambda: len(stand_in.sent) == 2, timeout=30)
    finally:
        assert await stop_bot(process) == 0
    log = (tmp_path / "bot.log").read_text()
    assert reply["text"].split("\n")[0] == known_photos[0].text
    assert "Set Bot API URL: http://127.0.0.1" in log and "getUpdates" in log and "Traceback" in log
    assert "[REDACTED-TOKEN]" in log
    assert stand_in.token not in log and stand_in.token.split(":")[1] not in log
    assert "Ready: model" in log and "long polling" in log
    assert all(stand_in.token.split(":")[1] not in m.get("text", "") for m in stand_in.sent)


async def test_feedback_survives_the_bot_being_killed(stand_in, tmp_path, known_photos):
    process = start_bot(stand_in, tmp_path)
    try:
        await wait_until_polling(stand_in, process)
        alice = stand_in.user(1001)
        reply = await stand_in.reply_to(await alice.send_photo(known_photos[1].image))
        await alice.press(reply, next(b["callback_data"] for b in reply["reply_markup"]["inline_keyboard"][0]))
        await stand_in.wait_until(lambda: stand_in.calls_to("editMessageReplyMarkup"), timeout=30)
    finally:
        process.send_signal(signal.SIGKILL)  # no shutdown, no chance to flush anything
        process.wait()
    with sqlite3.connect(tmp_path / "feedback.sqlite3") as connection:
        answers = connection.execute("SELECT user_id, text, confidences FROM answers").fetchall()
        verdicts = connection.execute("SELECT correct, label FROM verdicts").fetchall()
    assert [(user, text) for user, text, _ in answers] == [(1001, known_photos[1].text)]
    assert len(json.loads(answers[0][2])) == len(known_photos[1].text)
    assert verdicts == [(1, known_photos[1].text)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_webhook_mode_requires_the_secret_token(stand_in, tmp_path):
    port = free_port()
    webhook = {"WEBHOOK_URL": "https://bot.example.org/hook/telegram", "WEBHOOK_LISTEN": "127.0.0.1",
               "WEBHOOK_PORT": str(port), "WEBHOOK_SECRET": "s3cret-Token_1"}  # fmt: skip
    process = start_bot(stand_in, tmp_path, **webhook)
    url = f"http://127.0.0.1:{port}/hook/telegram"
    try:
        await stand_in.wait_until(lambda: stand_in.webhook, timeout=60)
        assert stand_in.webhook["url"] == "https://bot.example.org/hook/telegram"
        assert stand_in.webhook["secret_token"] == "s3cret-Token_1"
        start = stand_in.user(1001).message(text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # the webhook server starts listening just after setWebhook
                try:
                    async with session.post(url, json={"update_id": 1, "message": start}) as response:
                        no_secret = response.status
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail(f"the webhook server never listened on {url}; see {tmp_path / 'bot.log'}")
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
            async with session.post(url, json={"update_id": 2, "message": start}, headers=wrong) as response:
                wrong_secret = response.status
            await asyncio.sleep(0.5)
            assert not stand_in.sent  # neither update was handled
            right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
            async with session.post(url, json={"update_id": 3, "message": start}, headers=right) as response:
                right_secret = response.status
        reply = await stand_in.reply_to(start, timeout=30)
    finally:
        await stop_bot(process)
    assert (no_secret, wrong_secret, right_secret) == (403, 403, 200)
    assert reply["text"].startswith("Hi! I read handwritten digits")
    assert not stand_in.calls_to("getUpdates")
    assert "webhook at https://bot.example.org/hook/telegram" in (tmp_path / "bot.log").read_text()


@pytest.mark.slow
async def test_load_test_answers_every_photo_right():
    result = await run_load_test(users=4, photos_per_user=3)
    assert result["sent"] == result["answered"] == result["correct"] == 12, result
