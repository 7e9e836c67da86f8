"""Run the bot: `python -m bot` (or `make run`).

Settings come from the environment and a .env file in the current directory; .env.example lists them
all. A missing or malformed setting, an unreadable model or a token Telegram refuses is one line on
stderr and exit code 2; any other error that stops the bot is one log line (token scrubbed) and exit code 1.
"""

import logging
import os
import sys
from pathlib import Path

from dotenv import load_dotenv
from telegram.error import InvalidToken

from bot.app import build_application, build_services, run
from bot.config import ConfigError, load_settings
from bot.logs import configure_logging
from model.checkpoint import CheckpointError

logger = logging.getLogger("bot")


def main() -> int:
    load_dotenv(Path.cwd() / ".env")  # variables already set in the environment win
    try:
        settings = load_settings(os.environ)
    except ConfigError as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.token)
    try:
        run(build_application(settings, build_services(settings)), settings)
    except CheckpointError as error:
        print(f"bot: {error} (set MODEL_PATH, or run `make train`)", file=sys.stderr)
        return 2
    except InvalidToken:
        print("bot: Telegram refused TELEGRAM_BOT_TOKEN: was it revoked, or mistyped? (@BotFather)", file=sys.stderr)
        _quiet_exit()
        return 2
    except Exception as error:
        # Through the logger, never a bare traceback: its filter scrubs the token, which an error can quote.
        logger.critical("Stopped by an error: %s: %s", type(error).__name__, error)
        logger.debug("Its traceback:", exc_info=error)
        _quiet_exit()
        return 1
    return 0


def _quiet_exit() -> None:
    """Silence asyncio for the exit after a failed start.

    python-telegram-bot leaves its connections open when its start fails; the process ends now, so asyncio's
    "unclosed connection" complaints at exit would only bury the line about what went wrong.
    """
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


if __name__ == "__main__":
    sys.exit(main())
