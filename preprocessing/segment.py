"""Group ink components into digits and put the digits in reading order."""

from dataclasses import dataclass

import cv2
import numpy as np

MIN_DIGIT_HEIGHT_FRACTION = 0.035  # of the working image's short side; smaller is a speck
MAX_DIGIT_HEIGHT_FRACTION = 0.95
MIN_PEAK_DARKNESS = 0.3  # a digit has some properly dark ink, not only faint texture
MAX_DIGITS = 24  # more candidates than this is a texture or a page of text, not a number


@dataclass
class Blob:
    """One digit candidate: a group of connected components."""

    x: int
    y: int
    w: int
    h: int
    labels: list[int]

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def right(self) -> int:
        return self.x + self.w

    def merged(self, other: "Blob") -> "Blob":
        x, y = min(self.x, other.x), min(self.y, other.y)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return Blob(x, y, right - x, bottom - y, self.labels + other.labels)


def _belong_together(a: Blob, b: Blob) -> bool:
    """Pieces of one digit: they overlap horizontally and nearly touch vertically (a 5's flag, a broken 4)."""
    overlap = min(a.right, b.right) - max(a.x, b.x)
    if overlap < 0.5 * min(a.w, b.w):
        return False
    gap = max(a.y, b.y) - min(a.bottom, b.bottom)
    return gap < 0.25 * max(a.h, b.h)


def _group(blobs: list[Blob]) -> list[Blob]:
    merged = True
    while merged:  # few blobs per photo, so the quadratic loop is cheap
        merged = False
        for i in range(len(blobs)):
            for j in range(i + 1, len(blobs)):
                if _belong_together(blobs[i], blobs[j]):
                    blobs[i] = blobs[i].merged(blobs.pop(j))
                    merged = True
                    break
            if merged:
                break
    return blobs


def _is_digit_like(blob: Blob, short_side: int) -> bool:
    if blob.h < MIN_DIGIT_HEIGHT_FRACTION * short_side or blob.h > MAX_DIGIT_HEIGHT_FRACTION * short_side:
        return False
    return blob.h >= 0.6 * blob.w  # not dashes, underlines or scribbles lying flat


def _reading_order(blobs: list[Blob]) -> list[list[Blob]]:
    """Rows top to bottom (a blob joins a row it overlaps vertically by half), left to right within rows."""
    rows: list[list[Blob]] = []
    for blob in sorted(blobs, key=lambda b: b.y + b.h / 2):
        for row in rows:
            top, bottom = min(b.y for b in row), max(b.bottom for b in row)
            overlap = min(bottom, blob.bottom) - max(top, blob.y)
            if overlap > 0.5 * min(blob.h, bottom - top):
                row.append(blob)
                break
        else:
            rows.append([blob])
    return [sorted(row, key=lambda b: b.x) for row in rows]


def find_digits(mask: np.ndarray, darkness: np.ndarray) -> tuple[list[list[Blob]], np.ndarray]:
    """Digit candidates in reading order (a list of rows) and the component label image."""
    height, width = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    min_area = max(4, int(2e-5 * height * width))
    blobs = []
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        touches_border = x == 0 or y == 0 or x + w == width or y + h == height
        if area < min_area or touches_border:
            continue
        blobs.append(Blob(int(x), int(y), int(w), int(h), [label]))
    blobs = _group(blobs)
    short_side = min(height, width)
    candidates = [b for b in blobs if _is_digit_like(b, short_side)]
    tallest = max((b.h for b in candidates), default=0)
    candidates = [
        b for b in candidates if b.h >= 0.35 * tallest and _peak_darkness(b, labels, darkness) >= MIN_PEAK_DARKNESS
    ]  # fmt: skip
    if len(candidates) > MAX_DIGITS:
        return [], labels
    return _reading_order(candidates), labels


def _peak_darkness(blob: Blob, labels: np.ndarray, darkness: np.ndarray) -> float:
    window = np.s_[blob.y : blob.bottom, blob.x : blob.right]
    inside = np.isin(labels[window], blob.labels)
    return float(np.percentile(darkness[window][inside], 90))
