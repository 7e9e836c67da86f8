"""The Application, built in one place: settings, services, handlers, and the way it runs (polling or webhook)."""

import asyncio
import json
import logging
import os
import platform
from collections.abc import Callable, Coroutine
from typing import Any

import cv2
import telegram
import torch
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import handlers, replies
from bot.config import Settings
from bot.feedback import FeedbackStore
from bot.handlers import Services
from bot.limits import ChatOrder, PhotoRateLimit, Throttle
from bot.reader import PhotoReader
from bot.request import AiohttpRequest
from preprocessing.recognize import Recognizer

logger = logging.getLogger(__name__)

# python-telegram-bot 22 warns on every 429 (from RetryAfter's own constructor) that its time periods become
# timedeltas in its next major version. Nothing here reads one, so opt in now.
os.environ.setdefault("PTB_TIMEDELTA", "1")

CHAT_ACTION_SECONDS = 4.0  # Telegram shows a chat action for 5 s
# Connections to the Bot API: at ~0.1 s a request to api.telegram.org, 4 carry ~40 requests/s, above its
# flood limit of 30 messages/s.
CONNECTION_POOL_SIZE = 4
POOL_TIMEOUT = 30.0  # seconds a request may wait for a free connection in a burst
NETWORK_RETRIES = 3  # for Bot API calls that fail in ways that may pass; 429s are AIORateLimiter's


class RetryingRateLimiter(AIORateLimiter):
    """Telegram's flood limits and RetryAfter waits (AIORateLimiter), plus retries of NetworkErrors.

    Those are failures that may pass: a 5xx answer, a timeout, a connection refused, reset or not
    resolved. A BadRequest (a NetworkError too, in python-telegram-bot) and the errors that are not
    NetworkErrors (Forbidden, InvalidToken, a malformed URL: see bot/request.py) fail at once.
    A request that timed out may have reached Telegram, so a retry can rarely duplicate a message:
    better than an answer that never comes.
    """

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        for attempt in range(NETWORK_RETRIES + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except NetworkError as error:
                if isinstance(error, BadRequest) or attempt == NETWORK_RETRIES:
                    raise
                delay = 0.5 * 2**attempt
                logger.warning("%s failed (%s); retry %d in %.1f s", endpoint, error, attempt + 1, delay)
                await asyncio.sleep(delay)


def _describe(model: torch.nn.Module) -> str:
    """The architecture in one line, read off the network itself."""
    convs = [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    dense = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return (
        f"a CNN with {len(convs)} convolutions ({'-'.join(map(str, convs))} channels, batch norm, max pooling) "
        f"and {len(dense)} dense layers ({'-'.join(map(str, dense))})"
    )


def build_services(settings: Settings) -> Services:
    """Everything the handlers share; loads the model (raises CheckpointError for a bad MODEL_PATH)."""
    recognizer = Recognizer(settings.model_path, settings.confidence_threshold, threads=1)
    metrics_path = settings.model_path.parent / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
    confusion = settings.model_path.parent / "confusion.png"
    model = recognizer.classifier.network
    versions = {
        "python-telegram-bot": telegram.__version__,
        "PyTorch": torch.__version__,
        "OpenCV": cv2.__version__,
        "Python": platform.python_version(),
    }
    return Services(
        settings=settings,
        reader=PhotoReader(recognizer),
        store=FeedbackStore(settings.feedback_db),
        rate_limit=PhotoRateLimit(settings.user_photos_per_minute),
        order=ChatOrder(),
        progress=Throttle(CHAT_ACTION_SECONDS),
        metrics=metrics,
        confusion_png=confusion if confusion.is_file() else None,
        about=replies.about_text(type(model).__name__, _describe(model), metrics, versions),
    )


async def on_start(application: Application) -> None:
    shared: Services = application.bot_data["services"]
    await shared.store.open()
    await application.bot.set_my_commands(replies.COMMANDS)
    settings = shared.settings
    accuracy = f"{shared.metrics['accuracy']:.2%}" if shared.metrics else "unknown"
    mode = f"webhook at {settings.webhook_url}" if settings.webhook_url else "long polling"
    logger.info("Ready: model %s (MNIST test accuracy %s), %s", settings.model_path, accuracy, mode)


async def on_stop(application: Application) -> None:
    shared: Services = application.bot_data["services"]
    shared.reader.close()
    await shared.store.close()


def build_application(settings: Settings, shared: Services) -> Application:
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, do_quote=True, allow_sending_without_reply=True))
        .concurrent_updates(True)
        .request(AiohttpRequest(CONNECTION_POOL_SIZE, pool_timeout=POOL_TIMEOUT))
        .get_updates_request(AiohttpRequest(1))
        .rate_limiter(RetryingRateLimiter(overall_max_rate=settings.messages_per_second, max_retries=3))
        .post_init(on_start)
        .post_shutdown(on_stop)
        .build()
    )
    application.bot_data["services"] = shared

    new_message = filters.UpdateType.MESSAGE
    # Service messages (members joining or leaving, a pin, a new title) are not the user talking to the bot.
    not_service = ~filters.StatusUpdate.ALL
    application.add_handler(TypeHandler(Update, handlers.refuse_strangers), group=-1)
    application.add_handlers(
        [
            CommandHandler("start", handlers.start),
            CommandHandler("help", handlers.help_command),
            CommandHandler("accuracy", handlers.accuracy),
            CommandHandler("about", handlers.about),
            MessageHandler(new_message & (filters.PHOTO | filters.Document.IMAGE), handlers.photo),
            MessageHandler(new_message & filters.TEXT & ~filters.COMMAND, handlers.text),
            MessageHandler(new_message & not_service, handlers.unsupported),
            CallbackQueryHandler(handlers.correct, pattern=replies.button_pattern(replies.CORRECT)),
            CallbackQueryHandler(handlers.wrong, pattern=replies.button_pattern(replies.WRONG)),
            CallbackQueryHandler(handlers.see, pattern=replies.button_pattern(replies.SEE)),
            CallbackQueryHandler(handlers.key, pattern=replies.button_pattern(replies.KEY)),
            CallbackQueryHandler(handlers.done, pattern=replies.button_pattern(replies.DONE)),
            CallbackQueryHandler(handlers.cancel, pattern=replies.button_pattern(replies.CANCEL)),
            CallbackQueryHandler(handlers.expired),
        ]
    )
    application.add_error_handler(handlers.on_error)
    return application


def run(application: Application, settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM: long polling, or a webhook server when WEBHOOK_URL is set."""
    if settings.webhook_url:
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,  # Telegram sends it back; requests without it get 403
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
