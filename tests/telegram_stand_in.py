"""A local stand-in for the Telegram Bot API: the real protocol over real HTTP, offline.

An aiohttp server on 127.0.0.1 (a free port) that answers python-telegram-bot the way api.telegram.org
does: `/bot<token>/<method>` with form, multipart or JSON parameters, `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ...}`, long-polled getUpdates, and file downloads at
`/file/bot<token>/<path>`. Test code plays the users: it injects updates (photos in several sizes,
documents, commands, stickers, button presses, a user joining a group) and reads what the bot sent. It
can inject faults: HTTP errors (500, 429 with retry_after, 403 "blocked by the user", any description)
and slow responses.

    async with TelegramStandIn() as api:
        env = api.bot_env()                   # point the bot here
        alice = api.user(1001)
        photo = await alice.send_photo(jpeg)
        reply = await api.reply_to(photo)     # the bot's answer, as a Bot API Message dict

Like Telegram it refuses what the real API refuses: a wrong token, malformed HTML, callback data over
64 bytes, an edit that changes nothing, getFile for a file over 20 MB.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import cv2
import numpy as np
from aiohttp import web

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files
MAX_CALLBACK_DATA = 64
PHOTO_SIDES = (90, 320, 800, 1280)  # the long sides of the sizes Telegram makes of a photo
# Parameters that are always strings, even when they look like JSON ("42" as a message text).
STRING_PARAMETERS = {"text", "caption", "callback_query_id", "file_id", "url", "secret_token", "parse_mode", "action"}
HTML_ENTITIES = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "s": "strikethrough",
                 "strike": "strikethrough", "del": "strikethrough", "code": "code", "pre": "pre"}  # fmt: skip


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _HtmlToEntities(HTMLParser):
    """Telegram's parse_mode=HTML: plain text plus MessageEntity dicts with UTF-16 offsets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict] = []
        self.open: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in HTML_ENTITIES:
            raise ApiError(400, f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"')
        self.open.append((tag, _utf16_length(self.text)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: unexpected end tag "{tag}"')
        _, start = self.open.pop()
        length = _utf16_length(self.text) - start
        if length:
            self.entities.append({"type": HTML_ENTITIES[tag], "offset": start, "length": length})

    def handle_data(self, data: str) -> None:
        self.text += data


def parse_html(text: str) -> tuple[str, list[dict]]:
    parser = _HtmlToEntities()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise ApiError(400, f'Bad Request: can\'t parse entities: unclosed start tag "{parser.open[-1][0]}"')
    if "<" in parser.rawdata:  # HTMLParser keeps an unparsable "<" pending instead of failing
        raise ApiError(400, 'Bad Request: can\'t parse entities: unexpected "<"')
    return parser.text, sorted(parser.entities, key=lambda e: e["offset"])


@dataclass
class Fault:
    status: int | None  # None: answer normally, only late
    delay: float = 0.0
    retry_after: int | None = None
    description: str | None = None  # None: Telegram's usual one for the status


FAULT_DESCRIPTIONS = {403: "Forbidden: bot was blocked by the user", 429: "Too Many Requests: retry after"}


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    at: float  # time.perf_counter() when it arrived
    status: int = 200


@dataclass
class StoredFile:
    data: bytes | None
    size: int
    path: str


@dataclass
class StandInUser:
    """A Telegram user in a private chat with the bot; every send_* returns the injected Message dict."""

    api: TelegramStandIn
    id: int
    first_name: str

    @property
    def as_dict(self) -> dict:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name, "language_code": "en"}

    def message(self, chat: dict | None = None, **content: Any) -> dict:
        """A new Message from this user (known to the API, so the bot can reply to it), not yet delivered.

        In their private chat with the bot, or in `chat` (a group, say).
        """
        message = {
            "message_id": next(self.api._message_ids),
            "date": int(time.time()),
            "chat": chat or {"id": self.id, "type": "private", "first_name": self.first_name},
            "from": self.as_dict,
            **content,
        }
        chat_id = message["chat"]["id"]
        self.api.chats[chat_id] = message["chat"]
        self.api.messages[(chat_id, message["message_id"])] = message
        return message

    async def _message(self, chat: dict | None = None, **content: Any) -> dict:
        message = self.message(chat, **content)
        self.api.injected_at[(message["chat"]["id"], message["message_id"])] = time.perf_counter()
        await self.api.inject({"message": message})
        return message

    async def send_photo(self, jpeg: bytes, caption: str | None = None) -> dict:
        extra = {"caption": caption} if caption else {}
        return await self._message(photo=self.api.photo_sizes(jpeg), **extra)

    async def send_document(self, data: bytes | None, file_name: str, mime_type: str, size: int | None = None) -> dict:
        stored = self.api.add_file(data, size)
        return await self._message(document={**stored, "file_name": file_name, "mime_type": mime_type})

    async def send_text(self, text: str) -> dict:
        return await self._message(text=text)

    async def send_command(self, command: str) -> dict:
        return await self._message(
            text=command, entities=[{"type": "bot_command", "offset": 0, "length": len(command)}]
        )

    async def send_sticker(self) -> dict:
        stored = self.api.add_file(b"RIFF\x00\x00\x00\x00WEBPVP8 ", None)
        sticker = {**stored, "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
        return await self._message(sticker=sticker)

    async def send_voice(self) -> dict:
        return await self._message(
            voice={**self.api.add_file(b"OggS\x00", None), "duration": 2, "mime_type": "audio/ogg"}
        )

    async def join_group(self, group_id: int, title: str = "Group") -> dict:
        """Join a group the bot is in: the service message Telegram sends to the group's members."""
        group = {"id": group_id, "type": "group", "title": title}
        return await self._message(group, new_chat_members=[self.as_dict])

    async def press(self, message: dict, data: str) -> str:
        """Tap the inline button with callback data `data` under the bot's `message`; returns the query id."""
        current = self.api.messages[(message["chat"]["id"], message["message_id"])]
        buttons = [b for row in current.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        if data not in [b.get("callback_data") for b in buttons]:
            raise AssertionError(f"no button with data {data!r} under message {message['message_id']}: {buttons}")
        return (await self.tap(message, data))[0]

    async def tap(self, message: dict, data: str, times: int = 1, inaccessible: bool = False) -> list[str]:
        """Send a callback query for `message` with `data`, shown or not (a stale or forged button); the query ids.

        `times=2` is a double tap: both queries leave before the bot has answered the first. `inaccessible`
        sends the message as Telegram does when the message is too old: chat and message id only, date 0.
        """
        current = self.api.messages[(message["chat"]["id"], message["message_id"])]
        if inaccessible:
            current = {"chat": current["chat"], "message_id": current["message_id"], "date": 0}
        query_ids = [str(next(self.api._query_ids)) for _ in range(times)]
        for query_id in query_ids:
            query = {"id": query_id, "from": self.as_dict, "message": current, "chat_instance": "1", "data": data}
            await self.api.inject({"callback_query": query})
        return query_ids


class TelegramStandIn:
    def __init__(self, token: str | None = None) -> None:
        self.token = token or f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(26)[:35]}"
        self.bot_id = int(self.token.split(":")[0])
        self.port = 0
        self.updates: list[dict] = []  # not yet confirmed by the bot
        self.injected_at: dict[tuple[int, int], float] = {}  # users' (chat id, message id) -> time.perf_counter()
        self.messages: dict[tuple[int, int], dict] = {}  # (chat id, message id) -> Message, users' and bot's
        self.chats: dict[int, dict] = {}
        self.sent: list[dict] = []  # the bot's messages, in order
        self.sent_at: dict[tuple[int, int], float] = {}
        self.calls: list[Call] = []
        self.files: dict[str, StoredFile] = {}
        self.commands: list[dict] = []
        self.webhook: dict | None = None
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._photo_sizes: dict[bytes, list[dict]] = {}
        self._replies: dict[tuple[int, int], list[dict]] = defaultdict(list)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(7001)
        self._file_ids = itertools.count(1)
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def __aenter__(self) -> TelegramStandIn:
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        await self._notify()  # long polls return at once
        await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def bot_env(self) -> dict[str, str]:
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_BASE_URL": self.base_url,
                "TELEGRAM_BASE_FILE_URL": self.base_file_url}  # fmt: skip

    # -- the test side: users, files, faults, waiting -----------------------------------------------------

    def user(self, user_id: int, first_name: str | None = None) -> StandInUser:
        return StandInUser(self, user_id, first_name or f"User{user_id}")

    async def inject(self, update: dict) -> dict:
        """Queue an update for getUpdates (the StandInUser methods build them)."""
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        await self._notify()
        return update

    def add_file(self, data: bytes | None, size: int | None = None, kind: str = "documents") -> dict:
        """Store a file the bot may download; `data=None` with a `size` makes a file only its size is known of."""
        number = next(self._file_ids)
        file_id = f"F{number:06d}{secrets.token_hex(8)}"
        size = len(data) if size is None else size
        self.files[file_id] = StoredFile(data, size, f"{kind}/file_{number}")
        return {"file_id": file_id, "file_unique_id": f"U{number}", "file_size": size}

    def photo_sizes(self, jpeg: bytes) -> list[dict]:
        """The PhotoSize list of a photo, smallest first as Telegram sends it: real downscaled JPEGs.

        The same image sent again gets the same files, as a forwarded photo does.
        """
        if jpeg not in self._photo_sizes:
            self._photo_sizes[jpeg] = self._make_photo_sizes(jpeg)
        return self._photo_sizes[jpeg]

    def _make_photo_sizes(self, jpeg: bytes) -> list[dict]:
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        height, width = image.shape[:2]
        sizes = []
        for side in PHOTO_SIDES:
            if side >= max(width, height):
                break
            scale = side / max(width, height)
            small = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
            data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
            sizes.append({**self.add_file(data, kind="photos"), "width": small.shape[1], "height": small.shape[0]})
        sizes.append({**self.add_file(jpeg, kind="photos"), "width": width, "height": height})
        return sizes

    def fail_next(self, method: str, status: int | None = 500, times: int = 1, delay: float = 0.0,
                  retry_after: int | None = None, description: str | None = None) -> None:  # fmt: skip
        """The next `times` calls of `method` wait `delay` s, then fail with `status` (None: succeed late)."""
        for _ in range(times):
            self.faults[method].append(Fault(status, delay, retry_after, description))

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def replies_to(self, message: dict) -> list[dict]:
        """The bot's messages that reply to `message`, oldest first."""
        return list(self._replies.get((message["chat"]["id"], message["message_id"]), ()))

    def reply_latency(self, message: dict) -> float | None:
        """Seconds from the user's message reaching the API to the bot's first reply to it (None: no reply)."""
        replies = self.replies_to(message)
        if not replies:
            return None
        reply = replies[0]
        return (
            self.sent_at[(reply["chat"]["id"], reply["message_id"])]
            - self.injected_at[(message["chat"]["id"], message["message_id"])]
        )

    def current(self, message: dict) -> dict:
        """The message as it is now, after the bot's edits."""
        return self.messages[(message["chat"]["id"], message["message_id"])]

    async def wait_until(self, condition: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wait until condition() is truthy (checked on every request the bot makes) and return its value."""

        async def check() -> Any:
            async with self._changed:
                await self._changed.wait_for(condition)
            return condition()

        try:
            return await asyncio.wait_for(check(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout} s; the bot's last calls: {self.calls[-5:]}") from None

    async def reply_to(self, message: dict, timeout: float = 15.0) -> dict:
        return (await self.wait_until(lambda: self.replies_to(message), timeout))[0]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the bot side: HTTP ----------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params = await self._parameters(request)
        call = Call(method, params, time.perf_counter())
        self.calls.append(call)
        try:
            if self.faults[method]:
                fault = self.faults[method].popleft()
                await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    description = fault.description or FAULT_DESCRIPTIONS.get(fault.status, "Internal Server Error")
                    raise ApiError(fault.status, description, fault.retry_after)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params)
        except ApiError as error:
            call.status = error.code
            body = {"ok": False, "error_code": error.code, "description": error.description}
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return web.json_response(body, status=error.code)
        finally:
            await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _handle_download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.path == path and stored.data is not None:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    async def _parameters(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        params: dict[str, Any] = dict(request.query)
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                params[name] = value.file.read()
            elif name in STRING_PARAMETERS:
                params[name] = value
            else:
                try:
                    params[name] = json.loads(value)
                except ValueError:
                    params[name] = value
        return params

    # -- the Bot API methods the bot uses ---------------------------------------------------------------------

    def _bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Digit Reader",
            "username": "digit_reader_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getMe(self, params: dict) -> dict:
        return self._bot_user()

    async def _api_deleteWebhook(self, params: dict) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _api_setWebhook(self, params: dict) -> bool:
        self.webhook = params
        return True

    async def _api_setMyCommands(self, params: dict) -> bool:
        self.commands = params["commands"]
        return True

    async def _api_getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirmed ones are gone
        limit, timeout = int(params.get("limit") or 100), float(params.get("timeout") or 0)
        if not self.updates and timeout and not self._closing:
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: self.updates or self._closing), timeout)
                except TimeoutError:
                    pass
        return self.updates[:limit]

    async def _api_getFile(self, params: dict) -> dict:
        stored = self.files.get(params["file_id"])
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        unique = stored.path.rsplit("_", 1)[1]
        return {"file_id": params["file_id"], "file_unique_id": f"U{unique}", "file_size": stored.size,
                "file_path": stored.path}  # fmt: skip

    async def _api_sendChatAction(self, params: dict) -> bool:
        return True

    async def _api_answerCallbackQuery(self, params: dict) -> bool:
        return True

    async def _api_sendMessage(self, params: dict) -> dict:
        text, entities = self._formatted(params["text"], params.get("parse_mode"), limit=4096)
        return self._new_bot_message(params, text=text, **({"entities": entities} if entities else {}))

    async def _api_sendPhoto(self, params: dict) -> dict:
        photo = params["photo"]
        sizes = self.photo_sizes(photo) if isinstance(photo, bytes) else [{"file_id": photo, "width": 1, "height": 1}]
        content: dict[str, Any] = {"photo": sizes}
        if params.get("caption"):
            caption, entities = self._formatted(params["caption"], params.get("parse_mode"), limit=1024)
            content.update(caption=caption, **({"caption_entities": entities} if entities else {}))
        return self._new_bot_message(params, **content)

    async def _api_editMessageText(self, params: dict) -> dict:
        message = self._editable(params)
        text, entities = self._formatted(params["text"], params.get("parse_mode"), limit=4096)
        markup = self._markup(params)
        if text == message.get("text") and entities == message.get("entities", []) and \
                markup == message.get("reply_markup"):  # fmt: skip
            raise ApiError(400, "Bad Request: message is not modified: the new content is the same")
        message.update(text=text, entities=entities, edit_date=int(time.time()))
        self._set_markup(message, markup)
        return message

    async def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        message = self._editable(params)
        markup = self._markup(params)
        if markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: the new reply markup is the same")
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    # -- helpers -------------------------------------------------------------------------------------------

    @staticmethod
    def _formatted(text: str, parse_mode: str | None, limit: int) -> tuple[str, list[dict]]:
        text, entities = parse_html(text) if parse_mode == "HTML" else (text, [])
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_length(text) > limit:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    @staticmethod
    def _markup(params: dict) -> dict | None:
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(button.get("callback_data", "").encode()) > MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _set_markup(message: dict, markup: dict | None) -> None:
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def _editable(self, params: dict) -> dict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages or self.messages[key]["from"]["id"] != self.bot_id:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    def _new_bot_message(self, params: dict, **content: Any) -> dict:
        chat_id = int(params["chat_id"])
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                   "from": self._bot_user(), **content}  # fmt: skip
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        if reply_to is not None:
            original = self.messages.get((chat_id, int(reply_to)))
            if original is not None:  # one level deep, as Telegram does
                message["reply_to_message"] = {k: v for k, v in original.items() if k != "reply_to_message"}
                self._replies[(chat_id, original["message_id"])].append(message)
            elif not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        self._set_markup(message, self._markup(params))
        self.messages[(chat_id, message["message_id"])] = message
        self.sent.append(message)
        self.sent_at[(chat_id, message["message_id"])] = time.perf_counter()
        return message
