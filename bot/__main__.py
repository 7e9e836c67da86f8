"""Run the bot: `python -m bot` (or `make run`).

Settings come from the environment and a .env file in the current directory; .env.example lists them
all. A missing or malformed setting, an unreadable model or a token Telegram refuses is one line on
stderr and exit code 2.
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


def main() -> int:
    load_dotenv(Path.cwd() / ".env")  # variables already set in the environment win
    try:
        settings = load_settings(os.environ)
    except ConfigError as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.token)
    try:
        shared = build_services(settings)
    except CheckpointError as error:
        print(f"bot: {error} (set MODEL_PATH, or run `make train`)", file=sys.stderr)
        return 2
    try:
        run(build_application(settings, shared), settings)
    except InvalidToken:
        print("bot: Telegram refused TELEGRAM_BOT_TOKEN: was it revoked, or mistyped? (@BotFather)", file=sys.stderr)
        # python-telegram-bot leaves its connections open when its start fails; the process ends now, so
        # asyncio's "unclosed connection" complaints at exit would only bury the line above.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
