"""Shared fixtures."""

import pytest
from bot_load import reference_photos
from telegram_stand_in import TelegramStandIn


@pytest.fixture
async def stand_in():
    """A fresh Telegram Bot API stand-in on a free local port (see tests/telegram_stand_in.py)."""
    async with TelegramStandIn() as api:
        yield api


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    """Phone-like JPEGs whose reading is known; the shipped model reads each right and with confidence."""
    return reference_photos()
