"""Logging, configured once, with the bot token scrubbed from every record.

python-telegram-bot logs "Set Bot API URL: https://api.telegram.org/bot<token>" at DEBUG, and an HTTP
library's errors can quote a request URL (which contains the token), so the token is filtered out of each
record on the root logger's handlers (a filter on a logger would miss records propagated from other loggers).
"""

import logging
import re
import sys
from urllib.parse import quote

REDACTED = "[REDACTED-TOKEN]"
# Anything shaped like a bot token, in case a record carries some other bot's token.
_TOKEN_SHAPE = re.compile(r"\d{3,}(?::|%3A)[A-Za-z0-9_-]{30,}")


class RedactToken(logging.Filter):
    """Replaces the token (plain or URL-encoded) in a record's message, arguments and traceback."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.secrets = sorted({token, quote(token, safe="")} - {""}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        # Render the message now, so that a token inside an argument of any type (a URL object,
        # an exception) is caught; the arguments are then no longer needed.
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(level: str, token: str) -> None:
    """Log to stderr at `level`, the token scrubbed."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
