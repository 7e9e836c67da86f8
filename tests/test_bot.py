"""The real bot Application, end to end over real HTTP against the Bot API stand-in, with the shipped model.

Each test runs python-telegram-bot's Application in this event loop, polling the stand-in, with a fresh
SQLite feedback store; the test plays the users and reads what the bot sent.
"""

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest
from telegram.ext import Application
from telegram_stand_in import TelegramStandIn

from bot import replies
from bot.app import build_application, build_services
from bot.config import Settings, load_settings
from preprocessing.synthetic import DigitSource, SyntheticPhoto, make_photos


def settings_for(api: TelegramStandIn, tmp_path: Path, **env: str) -> Settings:
    """The bot's settings as `python -m bot` would read them; MODEL_PATH, if set, picks another model."""
    model = {"MODEL_PATH": os.environ["MODEL_PATH"]} if os.environ.get("MODEL_PATH") else {}
    return load_settings({**api.bot_env(), **model, "FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"), **env})


@asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[Application]:
    """The bot polling the stand-in; the same steps as Application.run_polling, in the test's event loop."""
    application = build_application(settings, build_services(settings))
    async with application:
        await application.post_init(application)
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()
    await application.post_shutdown(application)


@pytest.fixture
async def bot(stand_in, tmp_path) -> AsyncIterator[Application]:
    async with running_bot(settings_for(stand_in, tmp_path)) as application:
        yield application


def first_line(message: dict) -> str:
    return message["text"].split("\n")[0]


def is_bold_first_line(message: dict) -> bool:
    line = first_line(message)
    return {"type": "bold", "offset": 0, "length": len(line)} in message.get("entities", [])


def buttons(message: dict) -> list[str]:
    return [b["callback_data"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def button(message: dict, prefix: str) -> str:
    return next(data for data in buttons(message) if data.startswith(prefix))


def png_of(jpeg: bytes) -> bytes:
    return cv2.imencode(".png", cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))[1].tobytes()


def feedback_rows(settings: Settings, query: str) -> list[tuple]:
    with sqlite3.connect(settings.feedback_db) as connection:
        return connection.execute(query).fetchall()


def apologies(api: TelegramStandIn) -> list[dict]:
    """The bot's "something went wrong" messages: each one an error while handling an update."""
    return [m for m in api.sent if m.get("text") == replies.SOMETHING_WENT_WRONG]


# -- photos and other messages ------------------------------------------------------------------------------


async def test_photo_of_a_number_is_answered_with_the_number_in_bold(stand_in, bot, known_photos):
    photo: SyntheticPhoto = known_photos[1]
    message = await stand_in.user(1001).send_photo(photo.image)
    reply = await stand_in.reply_to(message)
    assert first_line(reply) == photo.text and is_bold_first_line(reply)
    assert "Confidence per digit" in reply["text"]
    # The largest of the photo's sizes was downloaded, with the typing indicator shown first.
    assert [c.params["file_id"] for c in stand_in.calls_to("getFile")] == [message["photo"][-1]["file_id"]]
    assert stand_in.calls_to("sendChatAction")[0].params["action"] == "typing"
    assert sorted(b.split(":")[0] for b in buttons(reply)) == ["no", "ok", "see"]


async def test_single_digit_answer_gives_confidence_and_two_runners_up(stand_in, bot, known_photos):
    photo = known_photos[0]
    reply = await stand_in.reply_to(await stand_in.user(1001).send_photo(photo.image))
    lines = reply["text"].split("\n")
    assert lines[0] == photo.text and is_bold_first_line(reply)
    assert lines[1].startswith("Confidence: ") and lines[1].endswith("%")
    runners_up = lines[2].removeprefix("Runner-up guesses: ").split(", ")
    assert len(runners_up) == 2 and all(guess[0].isdigit() and guess[0] != photo.text for guess in runners_up)


async def test_image_sent_as_a_file_is_read(stand_in, bot, known_photos):
    photo = known_photos[2]
    message = await stand_in.user(1001).send_document(png_of(photo.image), "digits.png", "image/png")
    reply = await stand_in.reply_to(message)
    assert first_line(reply) == photo.text and is_bold_first_line(reply)


async def test_blank_photo_gets_tips_and_no_verdict_buttons(stand_in, bot):
    blank = make_photos("blank", 1, seed=3, digits=DigitSource.strokes_only())[0]
    reply = await stand_in.reply_to(await stand_in.user(1001).send_photo(blank.image))
    assert reply["text"].startswith("I couldn't find a digit in this photo.")
    assert reply["text"].count("•") == 4
    assert [b.split(":")[0] for b in buttons(reply)] == ["see"]


@pytest.mark.parametrize(
    "send",
    [
        lambda user: user.send_sticker(),
        lambda user: user.send_voice(),
        lambda user: user.send_text("hello"),
        lambda user: user.send_command("/unknown"),
        lambda user: user.send_document(b"%PDF-1.4 not a photo", "homework.pdf", "application/pdf"),
    ],
    ids=["sticker", "voice", "text", "unknown command", "pdf document"],
)
async def test_anything_else_gets_a_hint(stand_in, bot, send):
    reply = await stand_in.reply_to(await send(stand_in.user(1001)))
    assert reply["text"].startswith("I only read photos of handwritten numbers.")
    assert not stand_in.calls_to("getFile")


async def test_corrupt_jpeg_gets_a_clear_answer(stand_in, bot, known_photos):
    truncated = known_photos[1].image[: len(known_photos[1].image) // 2]
    reply = await stand_in.reply_to(await stand_in.user(1001).send_document(truncated, "cut.jpg", "image/jpeg"))
    assert reply["text"] == "I couldn't read this image: the JPEG file is truncated (did the upload finish?)."
    assert "reply_markup" not in reply


async def test_file_over_telegrams_download_limit_gets_a_clear_answer(stand_in, bot):
    message = await stand_in.user(1001).send_document(None, "scan.png", "image/png", size=25 * 2**20)
    reply = await stand_in.reply_to(message)
    assert reply["text"].startswith("This file is 25.0 MB; bots can only download files up to 20 MB.")
    assert not stand_in.calls_to("getFile")


# -- commands -----------------------------------------------------------------------------------------------


async def test_start_and_help_explain_the_bot_and_commands_are_registered(stand_in, bot):
    user = stand_in.user(1001)
    start = await stand_in.reply_to(await user.send_command("/start"))
    help_reply = await stand_in.reply_to(await user.send_command("/help"))
    assert start["text"].startswith("Hi! I read handwritten digits from photos.")
    assert "For a good photo" in help_reply["text"] and help_reply["text"] in start["text"]
    assert [c["command"] for c in stand_in.commands] == ["start", "help", "accuracy", "about"]


async def test_accuracy_quotes_the_shipped_metrics_and_sends_the_confusion_matrix(stand_in, bot):
    metrics = bot.bot_data["services"].metrics
    message = await stand_in.user(1001).send_command("/accuracy")
    text, picture = await stand_in.wait_until(lambda: stand_in.replies_to(message)[1:] and stand_in.replies_to(message))
    assert f"MNIST test accuracy: {metrics['accuracy']:.2%}" in text["text"]
    assert f"7 {metrics['per_class']['7']['recall']:.2%}" in text["text"]
    assert f"Calibration error (ECE): {metrics['ece']:.4f}" in text["text"]
    assert f"validation photos: accuracy {metrics['photo_validation']['accuracy']:.2%}" in text["text"]
    assert "From your feedback: nothing yet." in text["text"]
    png = stand_in.calls_to("sendPhoto")[0].params["photo"]
    assert png == (Path(bot.bot_data["services"].settings.model_path).parent / "confusion.png").read_bytes()
    assert picture["caption"].startswith("Confusion matrix")


async def test_about_describes_the_model_from_its_checkpoint(stand_in, bot):
    metrics = bot.bot_data["services"].metrics
    reply = await stand_in.reply_to(await stand_in.user(1001).send_command("/about"))
    assert reply["text"].startswith("Model: DigitNet, a CNN with 5 convolutions")
    assert f"{metrics['parameters']:,} parameters" in reply["text"]
    assert f"fine-tuned {metrics['date'][:10]} for {metrics['epochs']} epochs" in reply["text"]  # as shipped
    assert "python-telegram-bot 22." in reply["text"]


# -- the three buttons, the feedback store, a restart -------------------------------------------------------


async def test_buttons_store_feedback_that_survives_a_restart(stand_in, tmp_path, known_photos):
    settings = settings_for(stand_in, tmp_path)
    alice = stand_in.user(1001)
    async with running_bot(settings):
        right = await alice.send_photo(known_photos[1].image)
        right_reply = await stand_in.reply_to(right)
        await alice.press(right_reply, button(right_reply, "ok:"))
        await stand_in.wait_until(lambda: buttons(stand_in.current(right_reply)) == [f"see:{right['message_id']}"])

        # "Wrong", then the keypad: 1, 2, new row, 3, backspace, 4, Done.
        wrong = await alice.send_photo(known_photos[2].image)
        wrong_reply = await stand_in.reply_to(wrong)
        await alice.press(wrong_reply, button(wrong_reply, "no:"))
        for entry in ["1", "12", "12_", "12_3", "12_", "12_4"]:
            data = f"key:{wrong['message_id']}:{entry}"
            await stand_in.wait_until(lambda data=data: data in buttons(stand_in.current(wrong_reply)))
            await alice.press(wrong_reply, data)
        await stand_in.wait_until(lambda: f"done:{wrong['message_id']}:12_4" in buttons(stand_in.current(wrong_reply)))
        await alice.press(wrong_reply, f"done:{wrong['message_id']}:12_4")
        thanks = await stand_in.reply_to(wrong_reply)
        assert thanks["text"] == f"{known_photos[2].text} → 12 4\nThanks! I saved the right answer."
        assert buttons(stand_in.current(wrong_reply)) == [f"see:{wrong['message_id']}"]

        # "Wrong", then the right number typed in.
        typed = await alice.send_photo(known_photos[0].image)
        typed_reply = await stand_in.reply_to(typed)
        await alice.press(typed_reply, button(typed_reply, "no:"))
        await stand_in.wait_until(lambda: len(buttons(stand_in.current(typed_reply))) > 10)
        not_a_number = await stand_in.reply_to(await alice.send_text("seven"))
        assert not_a_number["text"].startswith("Please type the right number with digits only")
        await alice.send_text("7")
        await stand_in.wait_until(lambda: stand_in.replies_to(typed_reply))

    answers = feedback_rows(settings, "SELECT message_id, text, length(crops), confidences FROM answers ORDER BY id")
    assert [(m, t, n) for m, t, n, _ in answers] == [
        (right["message_id"], known_photos[1].text, 784 * len(known_photos[1].text)),
        (wrong["message_id"], known_photos[2].text, 784 * len(known_photos[2].text)),
        (typed["message_id"], known_photos[0].text, 784),
    ]
    assert len(json.loads(answers[0][3])) == len(known_photos[1].text)
    verdicts = feedback_rows(settings, "SELECT answer_id, user_id, correct, label FROM verdicts ORDER BY id")
    assert verdicts == [(1, 1001, 1, known_photos[1].text), (2, 1001, 0, "12 4"), (3, 1001, 0, "7")]

    async with running_bot(settings):  # a new process would see the same: the store is a file
        downloads_before = len(stand_in.calls_to("getFile"))
        await alice.press(stand_in.current(right_reply), f"see:{right['message_id']}")
        annotated, strip = await stand_in.wait_until(lambda: stand_in.replies_to(right_reply)[1:] and
                                                     stand_in.replies_to(right_reply))  # fmt: skip
        assert len(stand_in.calls_to("getFile")) == downloads_before + 1  # not in memory: read again
        accuracy = await stand_in.reply_to(await alice.send_command("/accuracy"))
    strip_png = [c.params["photo"] for c in stand_in.calls_to("sendPhoto")][1]
    strip_image = cv2.imdecode(np.frombuffer(strip_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert strip_image.shape == (88, 88 * len(known_photos[1].text))  # one enlarged 28x28 tile per digit
    assert annotated["caption"].startswith("What I saw") and strip["caption"].startswith("The 28×28 images")
    assert "1 of 3 answers confirmed (33%), 2 corrected" in accuracy["text"]


async def test_what_did_you_see_sends_the_annotated_photo_and_the_strip(stand_in, bot, known_photos):
    photo = known_photos[1]
    reply = await stand_in.reply_to(await stand_in.user(1001).send_photo(photo.image))
    await stand_in.user(1001).press(reply, button(reply, "see:"))
    await stand_in.wait_until(lambda: len(stand_in.calls_to("sendPhoto")) == 2)
    annotated, strip = (cv2.imdecode(np.frombuffer(c.params["photo"], np.uint8), cv2.IMREAD_UNCHANGED)
                        for c in stand_in.calls_to("sendPhoto"))  # fmt: skip
    assert annotated.ndim == 3 and max(annotated.shape[:2]) <= 640
    assert strip.shape == (88, 88 * len(photo.text))
    assert [c.params["file_id"] for c in stand_in.calls_to("getFile")] == [
        reply["reply_to_message"]["photo"][-1]["file_id"]
    ]
    assert stand_in.calls_to("answerCallbackQuery")


async def test_cancel_puts_the_answer_buttons_back(stand_in, bot, known_photos):
    user = stand_in.user(1001)
    reply = await stand_in.reply_to(await user.send_photo(known_photos[0].image))
    original = buttons(reply)
    await user.press(reply, button(reply, "no:"))
    await stand_in.wait_until(lambda: any(b.startswith("cancel:") for b in buttons(stand_in.current(reply))))
    await user.press(reply, button(stand_in.current(reply), "cancel:"))
    await stand_in.wait_until(lambda: buttons(stand_in.current(reply)) == original)
    reply_after_cancel = await stand_in.reply_to(await user.send_text("7"))
    assert reply_after_cancel["text"].startswith("I only read photos")  # no longer taken as a correction


async def test_corrections_are_stored_in_ascii_and_a_bad_stored_label_spoils_no_accuracy(stand_in, tmp_path,
                                                                                      known_photos):  # fmt: skip
    settings = settings_for(stand_in, tmp_path)
    user = stand_in.user(1001)
    async with running_bot(settings):
        reply = await stand_in.reply_to(await user.send_photo(known_photos[0].image))
        await user.press(reply, button(reply, "no:"))
        await stand_in.wait_until(lambda: len(buttons(stand_in.current(reply))) > 10)
        superscript = await stand_in.reply_to(await user.send_text("²"))  # isdigit(), yet int() refuses it
        await user.send_text("３")  # fullwidth: a digit, stored as "3"
        await stand_in.wait_until(lambda: stand_in.replies_to(reply))
        with sqlite3.connect(settings.feedback_db) as connection:  # a label an older version let through
            connection.execute(
                "INSERT INTO verdicts (time, answer_id, user_id, correct, label) VALUES ('2026-01-01', 1, 1002, 0, '²')"
            )
        accuracy = await stand_in.reply_to(await user.send_command("/accuracy"))
    assert superscript["text"] == replies.DIGITS_ONLY
    assert feedback_rows(settings, "SELECT label FROM verdicts ORDER BY id") == [("3",), ("²",)]
    assert "0 of 1 answers confirmed (0%), 1 corrected" in accuracy["text"] and not apologies(stand_in)


async def test_buttons_under_an_answer_too_old_to_be_sent_along_still_work(stand_in, bot, known_photos):
    # Telegram sends such a message as chat, message id and date 0 (an InaccessibleMessage). python-telegram-bot
    # 22.8 still builds a Message of it, but its type says MaybeInaccessibleMessage: the handlers use only the
    # chat and message id, with the Bot's methods, so that either works.
    user = stand_in.user(1001)
    photo = await user.send_photo(known_photos[1].image)
    reply = await stand_in.reply_to(photo)
    number = photo["message_id"]
    await user.tap(reply, f"see:{number}", inaccessible=True)
    await stand_in.wait_until(lambda: len(stand_in.replies_to(reply)) == 2)
    await user.tap(reply, f"no:{number}", inaccessible=True)
    await stand_in.wait_until(lambda: f"cancel:{number}" in buttons(stand_in.current(reply)))
    await user.tap(reply, f"cancel:{number}", inaccessible=True)
    await stand_in.wait_until(lambda: f"ok:{number}" in buttons(stand_in.current(reply)))
    await user.tap(reply, f"ok:{number}", inaccessible=True)
    await stand_in.wait_until(lambda: buttons(stand_in.current(reply)) == [f"see:{number}"])
    assert [m["caption"][:10] for m in stand_in.replies_to(reply)] == ["What I saw", "The 28×28 "]
    assert "Thanks! Saved as correct." in [c.params.get("text") for c in stand_in.calls_to("answerCallbackQuery")]
    assert not apologies(stand_in)


async def test_double_taps_store_one_verdict_and_are_no_error(stand_in, bot, known_photos):
    user = stand_in.user(1001)
    right = await stand_in.reply_to(await user.send_photo(known_photos[0].image))
    await user.tap(right, button(right, "ok:"), times=2)
    wrong_photo = await user.send_photo(known_photos[1].image)
    wrong = await stand_in.reply_to(wrong_photo)
    number = wrong_photo["message_id"]
    await user.press(wrong, f"no:{number}")
    await stand_in.wait_until(lambda: f"cancel:{number}" in buttons(stand_in.current(wrong)))
    await user.tap(wrong, f"cancel:{number}", times=2)
    await stand_in.wait_until(lambda: f"no:{number}" in buttons(stand_in.current(wrong)))
    await user.press(wrong, f"no:{number}")
    for entry in ["1", "12"]:
        await stand_in.wait_until(lambda entry=entry: f"key:{number}:{entry}" in buttons(stand_in.current(wrong)))
        await user.press(wrong, f"key:{number}:{entry}")
    await stand_in.wait_until(lambda: f"done:{number}:12" in buttons(stand_in.current(wrong)))
    await user.tap(wrong, f"done:{number}:12", times=2)
    await stand_in.reply_to(wrong)
    await stand_in.wait_until(lambda: len(stand_in.calls_to("answerCallbackQuery")) == 10)  # every tap answered
    await asyncio.sleep(0.3)  # time for a second thanks, or an apology, to show up
    assert [m["text"].split("\n")[1] for m in stand_in.replies_to(wrong)] == ["Thanks! I saved the right answer."]
    assert feedback_rows(bot.bot_data["services"].settings, "SELECT correct, label FROM verdicts ORDER BY id") == [
        (1, known_photos[0].text),
        (0, "12"),
    ]
    assert not apologies(stand_in)


async def test_done_with_nothing_entered_is_answered_and_stores_nothing(stand_in, bot, known_photos):
    user = stand_in.user(1001)
    photo = await user.send_photo(known_photos[0].image)
    reply = await stand_in.reply_to(photo)
    for entry in ("", "__"):  # data the keypad never makes: Done appears only after a digit
        await user.tap(reply, f"done:{photo['message_id']}:{entry}")
    answers = await stand_in.wait_until(lambda: len(stand_in.calls_to("answerCallbackQuery")) == 2 and
                                        stand_in.calls_to("answerCallbackQuery"))  # fmt: skip
    assert [call.params.get("text") for call in answers] == [replies.NOTHING_ENTERED] * 2
    assert feedback_rows(bot.bot_data["services"].settings, "SELECT * FROM verdicts") == []
    assert not stand_in.replies_to(reply)


async def test_service_messages_in_a_group_get_no_answer(stand_in, bot):
    alice = stand_in.user(1001)
    joined = await alice.join_group(-1001)
    await stand_in.reply_to(await alice.send_command("/help"))
    await asyncio.sleep(0.3)  # time for a wrong answer to the service message to show up
    assert not stand_in.replies_to(joined) and not [m for m in stand_in.sent if m["chat"]["id"] == -1001]


async def test_a_button_the_bot_did_not_make_is_answered(stand_in, bot):
    await stand_in.inject({"callback_query": {"id": "9", "from": stand_in.user(1001).as_dict, "chat_instance": "1",
                                              "data": "something-old"}})  # fmt: skip
    call = await stand_in.wait_until(lambda: stand_in.calls_to("answerCallbackQuery"))
    assert call[0].params["text"] == "This button no longer works; send the photo again."


# -- access, limits, failures, many users -------------------------------------------------------------------


async def test_allowlist_refuses_others_once_and_serves_the_allowed(stand_in, tmp_path, known_photos):
    async with running_bot(settings_for(stand_in, tmp_path, ALLOWED_USER_IDS="1001, 1002")):
        stranger = stand_in.user(6666)
        first = await stranger.send_photo(known_photos[0].image)
        refusal = await stand_in.reply_to(first)
        second = await stranger.send_command("/start")
        friend = await stand_in.user(1002).send_photo(known_photos[0].image)
        assert first_line(await stand_in.reply_to(friend)) == known_photos[0].text
    assert refusal["text"] == "Sorry, this bot is private and only answers its owner's friends."
    assert not stand_in.replies_to(second)
    assert len([m for m in stand_in.sent if m["chat"]["id"] == 6666]) == 1


async def test_a_stranger_whose_refusal_fails_gets_nothing_through_and_is_refused_later(stand_in, tmp_path,
                                                                                      known_photos):  # fmt: skip
    settings = settings_for(stand_in, tmp_path, ALLOWED_USER_IDS="1002")
    friend, stranger = stand_in.user(1002), stand_in.user(6666)
    async with running_bot(settings):
        answer = await stand_in.reply_to(await friend.send_photo(known_photos[0].image))
        stand_in.fail_next("sendMessage", 403)  # the stranger has blocked the bot
        photo = await stranger.send_photo(known_photos[0].image)
        await stand_in.wait_until(lambda: [c for c in stand_in.calls_to("sendMessage") if c.status == 403])
        stand_in.fail_next("answerCallbackQuery", 400, description="Bad Request: query is too old")
        await stranger.tap(answer, button(answer, "ok:"))  # as in a group, where everyone sees the buttons
        await stand_in.wait_until(lambda: [c for c in stand_in.calls_to("answerCallbackQuery") if c.status == 400])
        refusal = await stand_in.reply_to(await stranger.send_command("/start"))  # told now, as not told before
        await asyncio.sleep(0.3)  # time for a wrong answer to the photo or the button to show up
    assert refusal["text"] == replies.NOT_ALLOWED
    assert not stand_in.replies_to(photo) and len(stand_in.calls_to("getFile")) == 1  # the friend's photo only
    assert feedback_rows(settings, "SELECT COUNT(*) FROM verdicts") == [(0,)] and not apologies(stand_in)


async def test_per_user_limit_is_polite_and_leaves_other_users_alone(stand_in, tmp_path, known_photos):
    async with running_bot(settings_for(stand_in, tmp_path, USER_PHOTOS_PER_MINUTE="2")):
        busy = stand_in.user(1001)
        sent = [await busy.send_photo(known_photos[0].image) for _ in range(4)]
        other = await stand_in.user(1002).send_photo(known_photos[0].image)
        await stand_in.reply_to(other)
        await stand_in.wait_until(lambda: all(stand_in.replies_to(m) for m in sent[:3]))
        await asyncio.sleep(0.3)  # time for a wrong extra answer to the fourth photo to show up
    assert [first_line(stand_in.replies_to(m)[0]) for m in sent[:2]] == [known_photos[0].text] * 2
    assert stand_in.replies_to(sent[2])[0]["text"].startswith("You've sent 2 photos in the last minute")
    assert not stand_in.replies_to(sent[3])  # told once, not once per photo


async def test_what_did_you_see_counts_against_the_per_user_limit(stand_in, tmp_path, known_photos):
    async with running_bot(settings_for(stand_in, tmp_path, USER_PHOTOS_PER_MINUTE="2")):
        user = stand_in.user(1001)
        reply = await stand_in.reply_to(await user.send_photo(known_photos[0].image))
        await user.press(reply, button(reply, "see:"))
        await stand_in.wait_until(lambda: len(stand_in.calls_to("sendPhoto")) == 2)
        await user.press(reply, button(reply, "see:"))
        await stand_in.wait_until(lambda: len(stand_in.calls_to("answerCallbackQuery")) == 2)
        await asyncio.sleep(0.3)  # time for wrong pictures to show up
    refused = stand_in.calls_to("answerCallbackQuery")[1].params
    assert refused["text"].startswith("You've sent 2 photos in the last minute") and refused["show_alert"]
    assert len(stand_in.calls_to("sendPhoto")) == 2


async def test_api_errors_500_and_429_and_slow_responses_are_survived(stand_in, bot, known_photos):
    user = stand_in.user(1001)
    stand_in.fail_next("sendMessage", 500)
    after_500 = await stand_in.reply_to(await user.send_photo(known_photos[0].image))
    stand_in.fail_next("sendMessage", 429, retry_after=1)
    after_429 = await stand_in.reply_to(await user.send_photo(known_photos[0].image))
    stand_in.fail_next("getFile", None, delay=2.0)
    stand_in.fail_next("getUpdates", 500)
    slow = await stand_in.reply_to(await user.send_photo(known_photos[0].image))
    assert [first_line(m) for m in (after_500, after_429, slow)] == [known_photos[0].text] * 3
    statuses = [c.status for c in stand_in.calls_to("sendMessage")]
    assert statuses == [500, 200, 429, 200, 200]
    retry_wait = stand_in.calls_to("sendMessage")[3].at - stand_in.calls_to("sendMessage")[2].at
    assert retry_wait >= 1.0  # RetryAfter was honoured
    assert 500 in [c.status for c in stand_in.calls_to("getUpdates")]  # polling survived its failure too


async def test_a_failing_update_gets_an_apology_and_the_bot_carries_on(stand_in, bot, known_photos):
    user = stand_in.user(1001)
    gone = await user.send_document(None, "expired.jpg", "image/jpeg", size=1000)  # getFile works, download 404s
    apology = await stand_in.wait_until(lambda: [m for m in stand_in.sent if m["chat"]["id"] == 1001])
    assert apology[0]["text"] == "Sorry, something went wrong on my side while handling that. Please try again."
    assert gone["message_id"] != apology[0]["message_id"]
    reply = await stand_in.reply_to(await user.send_photo(known_photos[0].image))
    assert first_line(reply) == known_photos[0].text


async def test_twenty_users_at_once_are_all_answered_right_and_in_their_order(stand_in, bot, known_photos):
    users = [stand_in.user(2000 + n) for n in range(20)]
    sends = [(user, known_photos[(n + k) % len(known_photos)]) for k in range(2) for n, user in enumerate(users)]
    messages = await asyncio.gather(*(user.send_photo(photo.image) for user, photo in sends))
    await stand_in.wait_until(lambda: all(stand_in.replies_to(m) for m in messages), timeout=60)
    for message, (_, photo) in zip(messages, sends, strict=True):
        assert first_line(stand_in.replies_to(message)[0]) == photo.text
    for user in users:
        answers = [m for m in stand_in.sent if m["chat"]["id"] == user.id]
        asked = [m["message_id"] for m in messages if m["chat"]["id"] == user.id]
        assert [a["reply_to_message"]["message_id"] for a in answers] == asked
