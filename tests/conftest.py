"""Shared fixtures."""

import pytest
from telegram_stand_in import TelegramStandIn


@pytest.fixture
async def stand_in():
    """A fresh Telegram Bot API stand-in on a free local port (see tests/telegram_stand_in.py)."""
    async with TelegramStandIn() as api:
        yield api


@pytest.fixture(scope="session")
def known_photos():
    """Phone-like photos (SyntheticPhoto) whose reading is known: the shipped model reads each right and surely."""
    from bot_load import reference_photos  # imported here so that other tests do not depend on the photo generator

    return reference_photos()
