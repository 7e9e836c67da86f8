"""The bot's settings: plain values read once from the environment (and .env, loaded by __main__).

Every variable, its default and its meaning is listed in .env.example.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from model.checkpoint import DEFAULT_MODEL_PATH
from preprocessing.recognize import DEFAULT_THRESHOLD

# BotFather tokens look like 123456789:AAE-x1...; the part after the colon is 35 characters today.
TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
# Telegram's rule for the X-Telegram-Bot-Api-Secret-Token header.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
USER_ID_PATTERN = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also takes "²", which int() refuses


class ConfigError(ValueError):
    """A missing or malformed setting; str() is one line fit for stderr."""


@dataclass(frozen=True)
class Settings:
    token: str
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    model_path: Path = DEFAULT_MODEL_PATH
    confidence_threshold: float = DEFAULT_THRESHOLD
    user_photos_per_minute: int = 20
    messages_per_second: float = 30  # all chats together: Telegram's documented flood limit; 0 turns it off
    allowed_user_ids: frozenset[int] | None = None  # None: everyone may use the bot
    feedback_db: Path = Path("data/feedback.sqlite3")
    webhook_url: str | None = None  # set: webhook mode; unset: long polling
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    log_level: str = "INFO"

    @property
    def webhook_path(self) -> str:
        """The path the local webhook server listens on: the path of WEBHOOK_URL."""
        return urlsplit(self.webhook_url or "").path.lstrip("/")


def _number(env: Mapping[str, str], name: str, default: float, kind: type, low: float, high: float | None = None):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
    if not math.isfinite(value):  # nan would pass any range check below
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{name} must be {bounds}, got {raw!r}")
    return value


def _user_ids(raw: str) -> frozenset[int] | None:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        return None
    if not all(USER_ID_PATTERN.fullmatch(part) for part in parts):
        raise ConfigError(f"ALLOWED_USER_IDS must be comma-separated numeric user ids, got {raw!r}")
    return frozenset(int(part) for part in parts)


def _messages_per_second(env: Mapping[str, str], default: float) -> float:
    """0 (off) or at least 1: aiolimiter refuses every request when its rate is below one per second."""
    value = _number(env, "TELEGRAM_MESSAGES_PER_SECOND", default, float, 0.0)
    if 0 < value < 1:
        raise ConfigError(f"TELEGRAM_MESSAGES_PER_SECOND must be 0 (off) or at least 1, got {value:g}")
    return value


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    """An http(s) URL with a host; checked here because the HTTP library's error would quote the URL with the token."""
    url = env.get(name, "").strip() or default
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError:  # that, or a malformed IPv6 address
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL with a host, such as {default}")
    return url


def load_settings(env: Mapping[str, str]) -> Settings:
    """Settings from an environment mapping, or a ConfigError that never contains the token."""
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it in .env")
    if not TOKEN_PATTERN.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN is malformed: expected digits, a colon and 30+ letters (from @BotFather)")

    webhook_url = env.get("WEBHOOK_URL", "").strip() or None
    webhook_secret = env.get("WEBHOOK_SECRET", "").strip() or None
    if webhook_url:
        if urlsplit(webhook_url).scheme != "https":
            raise ConfigError("WEBHOOK_URL must be an https:// URL (Telegram only delivers webhooks over HTTPS)")
        if not webhook_secret:
            raise ConfigError("WEBHOOK_SECRET is required in webhook mode (WEBHOOK_URL is set)")
    if webhook_secret and not SECRET_PATTERN.match(webhook_secret):
        raise ConfigError("WEBHOOK_SECRET may only contain A-Z, a-z, 0-9, _ and - (1 to 256 characters)")

    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")

    defaults = Settings(token=token)
    return Settings(
        token=token,
        base_url=_http_url(env, "TELEGRAM_BASE_URL", defaults.base_url),
        base_file_url=_http_url(env, "TELEGRAM_BASE_FILE_URL", defaults.base_file_url),
        model_path=Path(env.get("MODEL_PATH", "").strip() or defaults.model_path),
        confidence_threshold=_number(env, "CONFIDENCE_THRESHOLD", defaults.confidence_threshold, float, 0.0, 1.0),
        user_photos_per_minute=_number(env, "USER_PHOTOS_PER_MINUTE", defaults.user_photos_per_minute, int, 1),
        messages_per_second=_messages_per_second(env, defaults.messages_per_second),
        allowed_user_ids=_user_ids(env.get("ALLOWED_USER_IDS", "")),
        feedback_db=Path(env.get("FEEDBACK_DB", "").strip() or defaults.feedback_db),
        webhook_url=webhook_url,
        webhook_listen=env.get("WEBHOOK_LISTEN", "").strip() or defaults.webhook_listen,
        webhook_port=_number(env, "WEBHOOK_PORT", defaults.webhook_port, int, 1, 65535),
        webhook_secret=webhook_secret,
        log_level=log_level,
    )
