"""Shared fixtures."""

import os

import pytest
from telegram_stand_in import TelegramStandIn

from model.data import DataUnavailable, Split, load_test
from preprocessing.recognize import Recognizer
from preprocessing.synthetic import DigitSource


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


@pytest.fixture(scope="session")
def recognizer() -> Recognizer:
    """The shipped model's recognizer, loaded once."""
    return Recognizer()


@pytest.fixture(scope="session")
def mnist_test() -> Split:
    """MNIST's test split. Skipped where MNIST is not set up; a failure where MNIST_DIR says it is (as in CI),
    so that a broken dataset cannot turn the accuracy checks into silent skips."""
    try:
        return load_test()
    except DataUnavailable as error:
        if os.environ.get("MNIST_DIR"):
            pytest.fail(f"MNIST_DIR is set but MNIST cannot be read: {error}")
        pytest.skip(f"MNIST not available: {error}")


@pytest.fixture(scope="session")
def mnist_digits(mnist_test: Split) -> DigitSource:
    """The photo renderer's digits: MNIST test digits and stroke-drawn ones."""
    return DigitSource.from_mnist()
