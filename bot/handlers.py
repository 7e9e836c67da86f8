"""The bot's handlers: small async functions, one job each.

What they share (the photo reader, the feedback store, the limits, the model's metrics) is one
Services object in `application.bot_data`, built once in bot/app.py. Replies are HTML and quote the
message they answer (the application's defaults).
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from telegram import Document, InlineKeyboardMarkup, Message, PhotoSize, ReplyParameters, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import replies
from bot.config import Settings
from bot.feedback import FeedbackStore
from bot.limits import ChatOrder, PhotoRateLimit, Throttle
from bot.reader import PhotoReader
from preprocessing.decode import MAX_FILE_BYTES
from preprocessing.recognize import ERROR, Recognition

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    reader: PhotoReader
    store: FeedbackStore
    rate_limit: PhotoRateLimit
    order: ChatOrder
    progress: Throttle  # chat actions ("typing...") per chat and action
    metrics: dict | None  # the model's metrics.json
    confusion_png: Path | None
    about: str  # the /about text, fixed for the life of the process
    refused: set[int] = field(default_factory=set)  # users outside the allowlist already told so


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


# -- gate ---------------------------------------------------------------------------------------------------


async def refuse_strangers(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every other handler: users outside ALLOWED_USER_IDS get one polite refusal, then silence."""
    allowed = services(context).settings.allowed_user_ids
    user = update.effective_user
    if allowed is None or (user and user.id in allowed):
        return
    refused = services(context).refused
    try:
        if user and user.id not in refused:
            if update.callback_query:
                await update.callback_query.answer(replies.NOT_ALLOWED, show_alert=True)
            elif update.effective_message:
                await update.effective_message.reply_text(replies.NOT_ALLOWED)
            refused.add(user.id)  # only once told: a refusal that failed is tried again next time
    except TelegramError as error:
        logger.warning("Could not refuse user %s: %s", user.id, error)
    finally:
        raise ApplicationHandlerStop  # even if the refusal failed, the update goes no further


# -- commands -----------------------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(replies.START)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(replies.HELP)


async def accuracy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    shared = services(context)
    stats = await shared.store.live_stats()
    await update.effective_message.reply_text(replies.accuracy_text(shared.metrics, stats))
    if shared.confusion_png:
        await update.effective_message.reply_photo(
            shared.confusion_png.read_bytes(), caption="Confusion matrix on the MNIST test set"
        )


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(services(context).about)


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(replies.UNSUPPORTED)


# -- photos -------------------------------------------------------------------------------------------------


async def _show_progress(context: ContextTypes.DEFAULT_TYPE, chat_id: int, action: str) -> None:
    """Show "typing..." while a photo is read: a nicety whose failure must not cost the user the answer.

    Telegram shows it for 5 seconds, so a chat sending many photos at once needs it only once.
    """
    if not services(context).progress.allow((chat_id, action)):
        return
    try:
        await context.bot.send_chat_action(chat_id, action)
    except TelegramError as error:
        logger.warning("sendChatAction failed: %s", error)


async def _download(context: ContextTypes.DEFAULT_TYPE, file_id: str) -> bytes:
    telegram_file = await context.bot.get_file(file_id)
    return bytes(await telegram_file.download_as_bytearray())


async def _fetch(
    context: ContextTypes.DEFAULT_TYPE, message: Message, attachment: PhotoSize | Document
) -> bytes | None:
    """The file's bytes, or None when it is over Telegram's download limit."""
    if attachment.file_size and attachment.file_size > MAX_FILE_BYTES:
        return None
    await _show_progress(context, message.chat_id, ChatAction.TYPING)
    try:
        return await _download(context, attachment.file_id)
    except BadRequest as error:  # Telegram's own check, for files whose size the update did not say
        if "too big" not in str(error).lower():
            raise
        return None


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or an image file: read it off the event loop and answer with the number and the buttons."""
    shared, message, user = services(context), update.effective_message, update.effective_user
    attachment = max(message.photo, key=lambda size: size.width * size.height) if message.photo else message.document
    refusal = shared.rate_limit.take(user.id)
    if refusal and not refusal.first:
        return  # the user was told a moment ago; answering every extra photo would flood them
    # The chat's photos are downloaded and read side by side, and answered in the order they came.
    async with shared.order.turn(message.chat_id) as answer_turn:
        if refusal:
            await answer_turn()
            await message.reply_text(replies.rate_limited_text(shared.rate_limit.per_window, refusal.retry_in))
            return
        async with shared.reader.admission:
            data = await _fetch(context, message, attachment)
            result = await shared.reader.read(data) if data is not None else None
        await answer_turn()
        if result is None:
            await message.reply_text(replies.too_big_text(attachment.file_size, MAX_FILE_BYTES))
            return
        if result.status == ERROR:
            await message.reply_text(replies.unreadable_text(result.error))
            return
        # Stored before the reply goes out, so that every button the user can press finds its row.
        await shared.store.add_answer(user.id, message.chat_id, message.message_id, attachment.file_id, result)
        shared.reader.remember((message.chat_id, message.message_id), result)
        keyboard = replies.answer_keyboard(message.message_id, with_verdict=bool(result.digits))
        await message.reply_text(
            replies.answer_text(result, shared.settings.confidence_threshold), reply_markup=keyboard
        )


# -- buttons ------------------------------------------------------------------------------------------------


async def _find_result(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int) -> Recognition | None:
    """The recognition of an earlier photo: from memory, or read again from Telegram after a restart."""
    shared = services(context)
    result = shared.reader.recall((chat_id, message_id))
    if result is None:
        answer = await shared.store.find_answer(chat_id, message_id)
        if answer is None:
            return None
        async with shared.reader.admission:  # as a photo is read: a bounded number at a time
            result = await shared.reader.read(await _download(context, answer.file_id))
        shared.reader.remember((chat_id, message_id), result)
    return result


# A button's message is typed MaybeInaccessibleMessage: of an old message Telegram sends only the chat, the
# id and date 0, and an InaccessibleMessage has none of Message's shortcuts (reply_text, edit_reply_markup).
# So the handlers below use the chat and message id with the Bot's methods, which work for both.


async def _edit_buttons(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int, markup: InlineKeyboardMarkup
) -> None:
    """Show new buttons under one of the bot's messages; a double tap asks for the same ones twice."""
    try:
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


async def see(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "What did you see?" button: the photo with boxes and readings, and the 28x28 images the network got."""
    query, shared = update.callback_query, services(context)
    # Counted as a photo: two pictures to draw and upload, and the photo read again after a restart.
    refusal = shared.rate_limit.take(update.effective_user.id)
    if refusal:
        await query.answer(replies.rate_limited_text(shared.rate_limit.per_window, refusal.retry_in), show_alert=True)
        return
    callback = replies.parse_callback(query.data)
    chat_id, quote = query.message.chat.id, ReplyParameters(query.message.message_id)
    await query.answer()
    await _show_progress(context, chat_id, ChatAction.UPLOAD_PHOTO)
    result = await _find_result(context, chat_id, callback.message_id)
    if result is None:
        await context.bot.send_message(chat_id, replies.NO_ANSWER_ANY_MORE, reply_parameters=quote)
        return
    annotated, *strip = await shared.reader.pictures(result)
    caption = "What I saw: each box is a digit, with my reading"
    await context.bot.send_photo(chat_id, annotated, caption=caption, reply_parameters=quote)
    if strip:
        caption = "The 28×28 images the network read, left to right"
        await context.bot.send_photo(chat_id, strip[0], caption=caption, reply_parameters=quote)


async def correct(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = replies.parse_callback(query.data)
    store = services(context).store
    answer = await store.find_answer(query.message.chat.id, callback.message_id)
    if answer is None:
        await query.answer(replies.NO_ANSWER_ANY_MORE, show_alert=True)
        return
    await store.add_verdict(answer.id, update.effective_user.id, True, answer.text)  # a double tap stores one
    await query.answer("Thanks! Saved as correct.")
    markup = replies.answer_keyboard(callback.message_id, with_verdict=False)
    await _edit_buttons(context, query.message.chat.id, query.message.message_id, markup)


async def _edit_keypad(update: Update, context: ContextTypes.DEFAULT_TYPE, entry: str) -> None:
    query = update.callback_query
    callback = replies.parse_callback(query.data)
    # A typed number corrects this answer too; the keypad message is remembered to close it then.
    context.chat_data["correcting"] = (callback.message_id, query.message.message_id)
    markup = replies.keypad(callback.message_id, entry)  # unchanged, e.g. by backspace on an empty entry
    await _edit_buttons(context, query.message.chat.id, query.message.message_id, markup)


async def wrong(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer(replies.TYPE_OR_TAP)
    await _edit_keypad(update, context, "")


async def key(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    await _edit_keypad(update, context, replies.parse_callback(update.callback_query.data).entry)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    context.chat_data.pop("correcting", None)
    await query.answer()
    markup = replies.answer_keyboard(replies.parse_callback(query.data).message_id, with_verdict=True)
    await _edit_buttons(context, query.message.chat.id, query.message.message_id, markup)


async def _save_correction(
    update: Update, context: ContextTypes.DEFAULT_TYPE, photo_message_id: int, reply_message_id: int, label: str
) -> None:
    """Store the user's number for a photo, close the keypad under the bot's reply and thank the user."""
    shared, chat_id = services(context), update.effective_chat.id
    context.chat_data.pop("correcting", None)
    answer = await shared.store.find_answer(chat_id, photo_message_id)
    quote = ReplyParameters(reply_message_id)
    if answer is None:
        await context.bot.send_message(chat_id, replies.NO_ANSWER_ANY_MORE, reply_parameters=quote)
        return
    if not await shared.store.add_verdict(answer.id, update.effective_user.id, label == answer.text, label):
        return  # the same correction again (Done tapped twice): the first one closed the keypad and said thanks
    markup = replies.answer_keyboard(photo_message_id, with_verdict=False)
    await _edit_buttons(context, chat_id, reply_message_id, markup)
    await context.bot.send_message(chat_id, replies.corrected_text(answer.text, label), reply_parameters=quote)


async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = replies.parse_callback(query.data)
    label = replies.entry_to_number(callback.entry)
    if not label:  # the keypad shows Done only after a digit, so this data was made up
        await query.answer(replies.NOTHING_ENTERED)
        return
    await query.answer()
    await _save_correction(update, context, callback.message_id, query.message.message_id, label)


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed number after Wrong corrects that answer; any other text gets the hint."""
    number = replies.normalise_number(update.effective_message.text)
    correcting = context.chat_data.get("correcting")
    if correcting is None:
        await unsupported(update, context)
        return
    if number is None:
        await update.effective_message.reply_text(replies.DIGITS_ONLY)
        return
    photo_message_id, reply_message_id = correcting
    await _save_correction(update, context, photo_message_id, reply_message_id, number)


async def expired(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button this version of the bot did not make: answer it, or the user's client keeps spinning."""
    await update.callback_query.answer(replies.EXPIRED)


# -- errors -------------------------------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the traceback; tell the user something went wrong (never what: it could leak internals)."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("Error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, replies.SOMETHING_WENT_WRONG)
        except TelegramError as error:
            logger.warning("Could not tell the user about the error: %s", error)
