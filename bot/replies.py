"""What the bot says: pure functions from results to HTML text and inline keyboards.

Callback data (at most 64 bytes by Telegram's rules) names an answer by the message id of the user's
photo; the chat comes with the callback. The keypad carries the digits entered so far in its own
buttons' data, so the bot keeps no state between key presses and a restart loses nothing.
"""

import html
import unicodedata
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.feedback import LiveStats
from preprocessing.recognize import NO_DIGIT, UNSURE, Recognition

MAX_CALLBACK_BYTES = 64
MAX_ENTRY = 40  # digits (and row breaks) a correction may have; keeps the callback data under 64 bytes

# Callback actions.
CORRECT, WRONG, SEE, KEY, DONE, CANCEL = "ok", "no", "see", "key", "done", "cancel"

HELP = (
    "Send me a <b>photo of a handwritten number</b> (or an image file) and I'll tell you what I read "
    "and how sure I am. One digit or many, in one or two rows.\n\n"
    "<b>For a good photo</b>\n"
    "• dark pen on plain light paper, digits at least a finger wide\n"
    "• the digits fill a good part of the frame, with some paper around them; phone held straight above them\n"
    "• a little space between the digits: digits that run into each other may be read as one\n"
    "• even light, no strong shadow or glare\n\n"
    "Under each answer: <b>Correct</b> or <b>Wrong</b> (then tell me the right number) helps me measure "
    "how well I do, and <b>What did you see?</b> shows the digits as I cut them out.\n\n"
    "/accuracy how accurate the model is · /about the model · /help this message"
)
START = "Hi! I read handwritten digits from photos.\n\n" + HELP
UNSUPPORTED = "I only read photos of handwritten numbers. Send me a photo (or an image file); /help has tips."
NOT_ALLOWED = "Sorry, this bot is private and only answers its owner's friends."
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side while handling that. Please try again."
NO_DIGIT_TIPS = (
    "I couldn't find a digit in this photo.\n\n"
    "<b>Tips for a better photo</b>\n"
    "• write with a dark pen on plain light paper, digits at least a finger wide\n"
    "• get closer so the digits fill a good part of the frame\n"
    "• leave some paper around them: ink that touches the photo's edge is taken for the table\n"
    "• use even light: no shadow of the phone or a pen across the page"
)
NO_ANSWER_ANY_MORE = "I no longer have that photo; please send it again."
EXPIRED = "This button no longer works; send the photo again."
DIGITS_ONLY = "Please type the right number with digits only (a new line for a second row), or tap Cancel."
TYPE_OR_TAP = "What is the right number? Tap the digits and Done, or type it."
NOTHING_ENTERED = "Tap the digits of the right number first, then Done."

COMMANDS = [
    ("start", "what this bot does"),
    ("help", "how to take a good photo"),
    ("accuracy", "how accurate the model is"),
    ("about", "the model and its versions"),
]


@dataclass
class Callback:
    action: str
    message_id: int  # the user's photo message
    entry: str = ""  # keypad: the digits entered so far ("_" for a row break)


def callback_data(action: str, message_id: int, entry: str | None = None) -> str:
    data = f"{action}:{message_id}" if entry is None else f"{action}:{message_id}:{entry}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data}")
    return data


def button_pattern(action: str) -> str:
    """The regex a handler uses to claim the buttons of one action (and nothing malformed)."""
    return rf"^{action}:\d{{1,12}}(:[0-9_]{{0,{MAX_ENTRY}}})?$"


def parse_callback(data: str) -> Callback:
    """The Callback in a button's data; `data` has matched button_pattern()."""
    action, message_id, entry = (data.split(":") + [""])[:3]
    return Callback(action, int(message_id), entry)


def percent(p: float) -> str:
    """A probability for people: whole percent, but never a misleading 100% or 0%."""
    if 0.995 < p < 1:
        return ">99%"
    if 0 < p < 0.005:
        return "<1%"
    return f"{p:.0%}"


def answer_text(result: Recognition, threshold: float) -> str:
    """The reply to a photo: the number read in bold on the first line, alone, then the details."""
    if result.status == NO_DIGIT:
        return NO_DIGIT_TIPS
    lines = [f"<b>{result.text}</b>"]
    if result.status == UNSURE:
        lines.append("I'm not sure about this one.")
    if len(result.digits) == 1:
        digit = result.digits[0]
        runners_up = ", ".join(f"{k} ({percent(p)})" for k, p in digit.top3[1:])
        return "\n".join(lines + [f"Confidence: {percent(digit.confidence)}", f"Runner-up guesses: {runners_up}"])
    lines.append("Confidence per digit: " + " · ".join(f"{d.digit} {percent(d.confidence)}" for d in result.digits))
    doubtful = [(position, d) for position, d in enumerate(result.digits, 1) if d.confidence < threshold]
    if doubtful:
        lines.append("Best guesses for the doubtful digits:")
        lines += [
            f"• digit {position}: " + ", ".join(f"{k} ({percent(p)})" for k, p in d.top3) for position, d in doubtful
        ]
    return "\n".join(lines)


def unreadable_text(error: str) -> str:
    return f"I couldn't read this image: {html.escape(error)}."


def too_big_text(size: int | None, limit: int) -> str:
    how_big = f"{size / 2**20:.1f} MB" if size else f"over {limit // 2**20} MB"
    return (
        f"This file is {how_big}; bots can only download files up to {limit // 2**20} MB. "
        "Please send it as a photo, or a smaller image."
    )


def rate_limited_text(per_minute: int, retry_in: float) -> str:
    return (
        f"You've sent {per_minute} photos in the last minute, my limit per person. "
        f"Please wait {max(1, round(retry_in))} s; photos sent before then are skipped."
    )


def answer_keyboard(message_id: int, with_verdict: bool) -> InlineKeyboardMarkup:
    see = [InlineKeyboardButton("🔍 What did you see?", callback_data=callback_data(SEE, message_id))]
    if not with_verdict:
        return InlineKeyboardMarkup([see])
    verdict = [
        InlineKeyboardButton("✅ Correct", callback_data=callback_data(CORRECT, message_id)),
        InlineKeyboardButton("❌ Wrong", callback_data=callback_data(WRONG, message_id)),
    ]
    return InlineKeyboardMarkup([verdict, see])


def keypad(message_id: int, entry: str) -> InlineKeyboardMarkup:
    """The right number so far, digits 0-9, backspace, a row break, cancel and done.

    Each key's data is the entry as it will be after the key is pressed.
    """

    def key(label: str, new_entry: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=callback_data(KEY, message_id, new_entry[:MAX_ENTRY]))

    so_far = key(f"Right number: {entry_to_number(entry) or '…'}", entry)
    digits = [key(str(d), entry + str(d)) for d in range(1, 10)]
    bottom = [key("⌫", entry[:-1]), key("0", entry + "0"), key("↵ new row", entry + "_" if entry else entry)]
    finish = [InlineKeyboardButton("Cancel", callback_data=callback_data(CANCEL, message_id))]
    if entry_to_number(entry):
        finish.append(InlineKeyboardButton("✔️ Done", callback_data=callback_data(DONE, message_id, entry)))
    return InlineKeyboardMarkup([[so_far], digits[0:3], digits[3:6], digits[6:9], bottom, finish])


def _ascii_digits(row: str) -> str | None:
    """The row's decimal digits in ASCII ("４２" and "٤٢" are "42"), or None if anything else is in it.

    Not str.isdigit(): that also takes "²" and "①", which are no decimal digits and which int() refuses.
    """
    try:
        return "".join(str(unicodedata.decimal(character)) for character in row)
    except ValueError:
        return None


def normalise_number(text: str) -> str | None:
    """A number the user typed ("42", "4 2", "42 17" on two rows as "42\\n17") as the bot writes it, or None."""
    rows = [_ascii_digits("".join(row.split())) for row in text.strip().splitlines() if row.strip()]
    if not rows or None in rows or sum(map(len, rows)) > MAX_ENTRY:
        return None
    return " ".join(rows)


def entry_to_number(entry: str) -> str:
    return " ".join(row for row in entry.split("_") if row)


def corrected_text(read: str, label: str) -> str:
    return f"<s>{read or '?'}</s> → <b>{label}</b>\nThanks! I saved the right answer."


def accuracy_text(metrics: dict | None, stats: LiveStats) -> str:
    lines = []
    if metrics:
        per_digit = " · ".join(f"{d} {c['recall']:.2%}" for d, c in sorted(metrics["per_class"].items()))
        lines += [
            f"<b>MNIST test accuracy: {metrics['accuracy']:.2%}</b> ({metrics['n']:,} digits)",
            f"Per digit: {per_digit}",
            f"Calibration error (ECE): {metrics['ece']:.4f} (before temperature scaling: "
            f"{metrics['ece_uncalibrated']:.4f})",
        ]
        photos = metrics.get("photo_validation", {})
        if "ece" in photos:
            lines.append(
                f"On {photos['n']:,} digits cut from validation photos: accuracy {photos['accuracy']:.2%}, "
                f"ECE {photos['ece']:.4f} (before: {photos['ece_uncalibrated']:.4f})"
            )
    else:
        lines.append("The model's test metrics (metrics.json) are missing.")
    lines.append("")
    rated = stats.confirmed + stats.corrected
    if not rated:
        lines.append("<b>From your feedback:</b> nothing yet. Tap Correct or Wrong under an answer.")
        return "\n".join(lines)
    lines.append(
        f"<b>From your feedback</b> since {stats.since[:10]}: {stats.confirmed} of {rated} answers confirmed "
        f"({stats.confirmed / rated:.0%}), {stats.corrected} corrected"
    )
    if stats.per_digit:
        lines.append(
            "Per digit (read right / checked): " + " · ".join(f"{d} {r}/{n}" for d, (r, n) in stats.per_digit.items())
        )
    return "\n".join(lines)


def about_text(model_name: str, architecture: str, metrics: dict | None, versions: dict[str, str]) -> str:
    lines = [f"<b>Model</b>: {html.escape(model_name)}, {html.escape(architecture)}"]
    if metrics:
        # A checkpoint trained from another one says so: its epochs are only the last part of its training.
        trained = "fine-tuned" if metrics.get("config", {}).get("init") else "trained"
        lines.append(
            f"{metrics['parameters']:,} parameters, {trained} {metrics['date'][:10]} for {metrics['epochs']} epochs "
            f"({metrics['train_seconds'] / 60:.0f} min) with torch {metrics['torch_version']}; "
            f"confidence calibrated by temperature scaling (T = {metrics['temperature']:.2f})"
        )
    lines.append(
        "<b>Photo pipeline</b>: OpenCV finds the ink, cuts it into digits and rows, and draws each digit "
        "as a 28×28 MNIST-style image for the network"
    )
    lines.append("<b>Versions</b>: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    return "\n".join(lines)
