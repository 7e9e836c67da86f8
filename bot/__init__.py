"""The Telegram bot: photos of handwritten numbers in, the digits read and how sure the model is out.

Run it with `python -m bot`; see bot/__main__.py and .env.example.
"""
