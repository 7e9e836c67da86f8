"""Recognition off the event loop, and the last results kept for "What did you see?".

One Recognizer is shared by a pool of threads: the model only runs inference and OpenCV and PyTorch
release the GIL, so photos from different users are read in parallel while the event loop keeps
answering. Each thread runs PyTorch single-threaded; the pool has one thread per CPU core.
"""

import asyncio
import os
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from preprocessing.recognize import Recognition, Recognizer, encode_png

T = TypeVar("T")
PHOTOS_PER_WORKER = 4
RECENT_RESULTS = 64  # each holds a working-size grayscale photo (at most about 640 x 640 bytes)


class PhotoReader:
    def __init__(self, recognizer: Recognizer, workers: int | None = None) -> None:
        self.recognizer = recognizer
        workers = workers or os.cpu_count() or 2
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recognize")
        self._recent: OrderedDict[tuple[int, int], Recognition] = OrderedDict()
        # Photos being downloaded and read at once. A few per worker keep the workers busy; more would
        # only queue, and hundreds of downloads in flight would wait on the connection pool for everyone.
        self.admission = asyncio.Semaphore(PHOTOS_PER_WORKER * workers)

    async def _in_pool(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    async def read(self, data: bytes) -> Recognition:
        return await self._in_pool(self.recognizer.recognize, data)

    async def pictures(self, result: Recognition) -> list[bytes]:
        """PNGs of the annotated photo and, when digits were found, the strip of 28x28 images."""

        def render() -> list[bytes]:
            pictures = [encode_png(result.annotated())]
            if result.digits:
                pictures.append(encode_png(result.strip()))
            return pictures

        return await self._in_pool(render)

    def remember(self, key: tuple[int, int], result: Recognition) -> None:
        self._recent[key] = result
        self._recent.move_to_end(key)
        while len(self._recent) > RECENT_RESULTS:
            self._recent.popitem(last=False)

    def recall(self, key: tuple[int, int]) -> Recognition | None:
        return self._recent.get(key)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
