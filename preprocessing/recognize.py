"""Photo bytes in, digits out: the one recognition path used by the bot, the CLI and the web demo.

    recognizer = Recognizer()                       # loads the shipped model once
    result = recognizer.recognize(open("photo.jpg", "rb").read())
    print(result.status, result.text)

Load the Recognizer once and reuse it: loading the model is the slow part.
"""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from model.checkpoint import DEFAULT_MODEL_PATH
from model.classifier import Classifier
from preprocessing.decode import WORK_LONG_SIDE, DecodedImage, ImageError, decode_image
from preprocessing.ink import (
    Ink,
    find_ink,
    is_light_on_dark,
    is_straight,
    paper_brightness,
    paper_closing,
    percentile,
    percentiles,
)
from preprocessing.normalize import mnist_style
from preprocessing.segment import (
    MAX_DIGIT_HEIGHT_FRACTION,
    STRAIGHT_STROKE,
    Blob,
    cut_apart,
    cut_candidates,
    find_digits,
    writing_slope,
)

# Below this calibrated confidence a digit is reported as unsure. Chosen on the
# synthetic photo benchmark (see README): it flags most wrong readings while
# flagging few right ones.
DEFAULT_THRESHOLD = 0.8

OK, UNSURE, NO_DIGIT, ERROR = "ok", "unsure", "no_digit", "error"

MIN_PICTURE_SIDE = 240  # the annotated picture's long side at least, in px

# Digits shorter than this share of the working image's short side are found again at twice its
# resolution, in the part of the photo around them: small digits written close together blur into
# each other at 640 px, and their thin strokes fade.
SMALL_DIGITS = 0.1

# A photo in which no digit was found, or one whose digits fill its height with ink at its edge, is looked at
# again framed by this share of its long side of its own paper on each side: it may be cropped so tight that a
# digit touches the edge or is as tall as the photo.
FRAME_PAD = 0.1
# What that second look finds replaces the first's when it holds more digits. They are digits only when they
# fill the frame, each at least MIN_FRAMED_HEIGHT of its height and together MIN_FRAMED_WIDTH of its width (a
# fold or a page edge is a thin line from top to bottom), and each is drawn on even paper: the grey levels
# around its strokes spread (10th to 90th percentile) at most MAX_PAPER_SPREAD of the strokes' contrast with
# them, or at most MAX_SPREAD_AROUND_PLANE around a plane fitted to them (light falling off across the crop). The
# usual ink at a photo's edge, a page or table edge, has paper on one side and the table on the other. Cropped
# 1 % around their digits, 16 more of 1,500 development single digits and 8 more of 500 numbers were read with
# the plane (not for straight strokes), none fewer; around the page edges of 1,900 blank ones it spread 0.5 of
# their contrast or more. A quadratic surface read 7 more singles, but took up part of a step: 2 of 600 pens beside a
# digit passed for 1s. Straight strokes fitted too: page edges beside a digit in shrunk or squashed development
# photos passed for 1s (3 of 600), and on seed 0 a pen beside a digit did.
MIN_FRAMED_HEIGHT = 0.5
MIN_FRAMED_WIDTH = 0.3
MAX_PAPER_SPREAD = 0.75
MAX_SPREAD_AROUND_PLANE = 0.45
FIT_POINTS = 4000  # grey levels fitted, evenly spread over the band: enough for a plane, and fast

# A digit the network judges not one digit with more than this probability is cut where it most likely
# holds digits written into each other (when the model's piece judge was trained). At 0.5, the judge's
# own boundary, a few more touching digits are cut right and a few single 4s cut wrong (README). Only
# blobs wider than CUT_WIDER_THAN x their height are cut: two digits side by side rarely are narrower,
# and the judge's doubts about narrower blobs are mostly wrong (a boxy 0 had been cut into "11").
CUT_ABOVE = 0.7
CUT_WIDER_THAN = 0.6
# A blob find_digits cut at thin necks is put back together when the judge says it is one digit (below its own
# boundary) and the whole reads as one digit more likely than its pieces each do: a 0 written flat and open at the
# top has a neck in its bottom stroke. Judged one digit, not only read better: "23" written into each other reads
# as a fair "2" whole.
KEEP_WHOLE_BELOW = 0.5

# Ink whose outline encloses paper as dark as itself (HOLLOW of the way from the ink's grey to the paper's), as
# much as HOLLOW_SHARE of it, is the sides of strokes wider than the paper estimate's closing: a marker's digit
# filling the frame. It is looked for again with a closing WIDE_CLOSING x as wide. MNIST digits drawn with strokes
# a quarter of their height wide, 50-80 % of a 1280 x 960 photo tall: 9 of 10 read at each size, 3 or 4 before.
# Every development photo read the same, one marked photo more. Filling the middles in instead (where dark
# against the wider estimate and enclosed by ink) filled some of a stroke and not the rest: a bold 2 read 7.
HOLLOW = 0.1
HOLLOW_SHARE = 0.5
MARKER = 0.5  # a marker's strokes are at most this share of the paper's grey
WIDE_CLOSING = 3

# Writing sloping by more degrees than this is levelled before its digits are found (a page turned under the
# phone). Of 900 development photos of numbers turned 5-20 degrees, 767 were read before levelling, 851 at 4
# and 850 at 6; at 4, the slope measured on digits run together misled more often (touching: 721 against 725).
MIN_SLOPE = 6.0

Box = tuple[int, int, int, int]  # x, y, w, h


@dataclass
class Digit:
    digit: int
    confidence: float
    top3: list[tuple[int, float]]
    box: tuple[int, int, int, int]  # x, y, w, h in the original photo's pixels
    row: int
    probabilities: np.ndarray  # (10,) calibrated
    image: np.ndarray  # (28, 28) uint8: what the model saw


@dataclass
class Recognition:
    status: str
    text: str = ""
    digits: list[Digit] = field(default_factory=list)
    error: str | None = None
    ms: float = 0.0
    photo: np.ndarray | None = field(default=None, repr=False)  # grayscale working image
    scale: float = 1.0  # original pixels per working-image pixel

    def to_dict(self) -> dict:
        """The JSON shape of scripts/predict.py --json (without the path)."""
        return {
            "status": self.status,
            "text": self.text,
            "digits": [
                {
                    "digit": d.digit,
                    "confidence": round(d.confidence, 4),
                    "top3": [[digit, round(p, 4)] for digit, p in d.top3],
                    "box": list(d.box),
                }
                for d in self.digits
            ],
            "error": self.error,
            "ms": round(self.ms, 1),
        }

    def annotated(self) -> np.ndarray:
        """The photo (BGR) with a box and the predicted digit drawn over each digit."""
        if self.photo is None:
            return np.zeros((1, 1, 3), np.uint8)
        picture = cv2.cvtColor(self.photo, cv2.COLOR_GRAY2BGR)
        zoom = math.ceil(MIN_PICTURE_SIDE / max(picture.shape[:2]))  # a tiny image is drawn larger: labels fit
        if zoom > 1:
            picture = cv2.resize(picture, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
        thickness = max(1, min(picture.shape[:2]) // 240)
        for d in self.digits:
            x, y, w, h = (round(v / self.scale * zoom) for v in d.box)
            colour = (40, 170, 40) if d.confidence >= 0.5 else (30, 120, 230)
            cv2.rectangle(picture, (x, y), (x + w, y + h), colour, thickness)
            label = f"{d.digit} {d.confidence:.0%}"
            font = min(1.0, max(0.4, h / 120))
            # Above the box, or inside its top when the box starts at the top of the picture.
            baseline = y - 4 if y > 24 else y + round(22 * font)
            cv2.putText(picture, label, (x + 2, baseline), cv2.FONT_HERSHEY_SIMPLEX, font, colour, thickness)
        return picture

    def strip(self, cell: int = 84) -> np.ndarray:
        """The 28x28 images the model saw, side by side and enlarged, each with its digit."""
        if not self.digits:
            return np.zeros((cell, cell), np.uint8)
        tiles = []
        for d in self.digits:
            tile = cv2.resize(d.image, (cell, cell), interpolation=cv2.INTER_NEAREST)
            cv2.putText(tile, str(d.digit), (3, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 160, 1)
            tiles.append(np.pad(tile, 2, constant_values=90))
        return np.hstack(tiles)


def encode_png(picture: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", picture)
    return buffer.tobytes()


def _crop_ink(blob: Blob, ink_mask: np.ndarray, darkness: np.ndarray) -> np.ndarray:
    """The blob's ink strength scaled so the stroke core is 1, its neighbours' ink left out."""
    window = np.s_[blob.y : blob.bottom, blob.x : blob.right]
    inside = blob.mask(ink_mask)
    rim = cv2.dilate(inside, np.ones((3, 3), np.uint8))  # keep the anti-aliased edge pixels
    ink = darkness[window].astype(np.float32) * rim
    core = percentile(darkness[window], 75, where=inside)
    return np.clip(ink / max(core, 1.0), 0.0, 1.0)


def find_blobs(
    gray: np.ndarray, keep_blots_below: float = 0.0, closing: int | None = None, pixel: float = 1.0
) -> tuple[list[tuple[int, Blob]], Ink]:
    """The digits of a grayscale photo in reading order as (row index, blob), and the ink they were found in."""
    closing = closing or paper_closing(gray.shape)
    ink = find_ink(gray, closing)
    rows = find_digits(ink, keep_blots_below, pixel)
    # A digit is three strokes tall or more: only one 3 x the closing's width tall (12 x it in quarter-size pixels)
    # can have strokes wider than the closing.
    if any(blob.h >= 12 * closing and _is_hollow(blob, ink, gray) for row in rows for blob in row):
        # A marker's strokes wider than the paper estimate's closing: look again with one wide enough.
        wider = find_ink(gray, WIDE_CLOSING * closing | 1)
        wider_rows = find_digits(wider, keep_blots_below, pixel)
        if wider_rows:
            return _numbered(wider_rows), wider
    return _numbered(rows), ink


def _is_hollow(blob: Blob, ink: Ink, gray: np.ndarray) -> bool:
    """Whether the blob's ink is the outline of strokes whose middles passed for paper: inside its outline, paper
    as dark as its ink (within HOLLOW of the way to the paper around it), as much of it as HOLLOW_SHARE x the ink."""
    window = np.s_[blob.y : blob.bottom, blob.x : blob.right]
    inside = blob.inside()
    stroke = inside & (ink.mask[window] > 0)  # Blob.mask, from the outlines drawn once
    enclosed = inside & (ink.mask[window] == 0)
    outside = (inside == 0).view(np.uint8)
    if not outside.any() or np.count_nonzero(enclosed) < HOLLOW_SHARE * np.count_nonzero(stroke):
        return False
    grey = gray[window]
    paper, strokes = percentile(grey, 50, where=outside), percentile(grey, 50, where=stroke)
    if strokes > MARKER * paper:  # a ballpoint's thin strokes around a shadow are no marker's
        return False
    dark = cv2.threshold(grey, strokes + HOLLOW * (paper - strokes), 1, cv2.THRESH_BINARY_INV)[1] & enclosed
    return np.count_nonzero(dark) >= HOLLOW_SHARE * np.count_nonzero(stroke)


def _numbered(rows: list[list[Blob]]) -> list[tuple[int, Blob]]:
    return [(row_index, blob) for row_index, row in enumerate(rows) for blob in row]


def _without_blots(blobs: list[tuple[int, Blob]]) -> list[tuple[int, Blob]]:
    """The (row index, blob) pairs that are not blots, rows numbered again from 0."""
    kept = [(row, blob) for row, blob in blobs if not blob.blot]
    rows = sorted({row for row, _ in kept})
    return [(rows.index(row), blob) for row, blob in kept]


def crop(blob: Blob, ink: Ink) -> np.ndarray:
    """The blob's ink as an MNIST-style 28x28 image."""
    return mnist_style(_crop_ink(blob, ink.mask, ink.darkness))


def candidate_pieces(blob: Blob, ink: Ink) -> tuple[list[int], dict[tuple[int, int], Blob]]:
    """Where the blob may be cut (its edges included) and the pieces between any two cuts (see cut_apart)."""
    inside = blob.mask(ink.mask)
    cuts = [0, *cut_candidates(inside), blob.w]
    return cuts, cut_apart(blob, inside, cuts)


def _crops(blobs: list[tuple[int, Blob]], ink: Ink) -> np.ndarray:
    crops = [crop(blob, ink) for _, blob in blobs]
    return np.stack(crops) if crops else np.zeros((0, 28, 28), np.uint8)


def digit_crops(gray: np.ndarray, closing: int | None = None) -> tuple[list[tuple[int, Blob]], np.ndarray]:
    """The digits of a grayscale photo (or part of one: `closing` as find_ink) in reading order as
    (row index, blob), and their (N, 28, 28) images."""
    blobs, ink = find_blobs(gray, closing=closing)
    return blobs, _crops(blobs, ink)


class Recognizer:
    """`threads`: PyTorch's and OpenCV's threads (process-wide). One photo takes milliseconds, so one
    thread each is fastest, and a server reads several photos side by side instead."""

    def __init__(
        self, model_path: str | Path = DEFAULT_MODEL_PATH, threshold: float = DEFAULT_THRESHOLD, threads: int = 1
    ) -> None:
        cv2.setNumThreads(threads)
        self.classifier = Classifier(model_path, threads=threads)
        self.threshold = threshold

    def recognize(self, data: bytes) -> Recognition:
        """Never raises for bad input: an unreadable image is a Recognition with status "error"."""
        started = time.perf_counter()
        try:
            image = decode_image(data)
        except ImageError as error:
            return Recognition(ERROR, error=str(error), ms=(time.perf_counter() - started) * 1000)
        result = self._read(data, image)
        result.ms = (time.perf_counter() - started) * 1000
        return result

    def _read(self, data: bytes, image: DecodedImage) -> Recognition:
        found = _find_digits(data, image)
        if not found.blobs:
            return Recognition(NO_DIGIT, photo=image.gray, scale=image.scale)
        crops = _crops(found.blobs, found.ink)
        readings = [
            _Reading(row, blob, crop_, p, float(p_not))
            for (row, blob), crop_, p, p_not in zip(found.blobs, crops, *self.classifier.read(crops))
        ]
        if self.classifier.judges_pieces:
            readings = self._cut_where_not_one(self._whole_where_one(readings, found.ink), found.ink)
        digits = []
        for reading in readings:
            p = reading.probabilities
            order = np.argsort(p)[::-1][:3]
            top3 = [(int(k), float(p[k])) for k in order]
            box = found.box(reading.blob)
            digits.append(Digit(int(order[0]), float(p[order[0]]), top3, box, reading.row, p, reading.crop))
        rows = range(readings[-1].row + 1)
        text = " ".join("".join(str(d.digit) for d in digits if d.row == row_index) for row_index in rows)
        status = OK if all(d.confidence >= self.threshold for d in digits) else UNSURE
        return Recognition(status, text, digits, photo=image.gray, scale=image.scale)

    def _whole_where_one(self, readings: list["_Reading"], ink: Ink) -> list["_Reading"]:
        """Blobs that find_digits cut at thin necks put back together where the network judges the whole one
        digit and reads it more likely as one digit than the pieces as one digit each (the score of
        _most_likely_digits): a 0 written flat and open at the top had been cut into "(" and ")"."""
        wholes: dict[int, tuple[Blob, int]] = {}  # each blob cut at necks, and the row of its first piece
        pieces_score: dict[int, float] = {}
        for reading in readings:
            whole = reading.blob.cut_from
            if whole is not None:
                wholes.setdefault(id(whole), (whole, reading.row))
                pieces_score[id(whole)] = pieces_score.get(id(whole), 0.0) + reading.score
        if not wholes:
            return readings
        whole_crops = np.stack([crop(whole, ink) for whole, _ in wholes.values()])
        whole_readings = [
            _Reading(row, whole, whole_crop, p, float(p_not))
            for (whole, row), whole_crop, p, p_not in zip(
                wholes.values(), whole_crops, *self.classifier.read(whole_crops)
            )
        ]
        put_back = {
            id(whole.blob): whole
            for whole in whole_readings
            if whole.not_one_digit < KEEP_WHOLE_BELOW and whole.score > pieces_score[id(whole.blob)]
        }
        kept, placed = [], set()  # a whole put back in its first piece's place
        for reading in readings:
            key = id(reading.blob.cut_from) if reading.blob.cut_from is not None else None
            if key not in put_back:
                kept.append(reading)
            elif key not in placed:
                placed.add(key)
                kept.append(put_back[key])
        return kept

    def _cut_where_not_one(self, readings: list["_Reading"], ink: Ink) -> list["_Reading"]:
        """Blobs the network judges not one digit (digits written into each other that the shapes alone
        did not cut apart) cut into the pieces most likely each one digit."""
        cut_apart = []
        for reading in readings:
            blob = reading.blob
            cut = reading.not_one_digit > CUT_ABOVE and blob.w > CUT_WIDER_THAN * blob.h
            pieces = _most_likely_digits(reading.row, blob, ink, self.classifier) if cut else None
            cut_apart.extend(pieces or [reading])
        return cut_apart


@dataclass
class _Reading:
    """A digit candidate as the network read it."""

    row: int
    blob: Blob
    crop: np.ndarray  # (28, 28) uint8
    probabilities: np.ndarray  # (10,)
    not_one_digit: float  # the piece judge's P(not one digit)

    @property
    def score(self) -> float:
        return _one_digit_score(self.probabilities, self.not_one_digit)


def _most_likely_digits(row: int, blob: Blob, ink: Ink, classifier: Classifier) -> list[_Reading] | None:
    """The blob cut at candidate columns into the pieces that most likely are each one digit, and that digit
    (the product over pieces of P(one digit) times the top digit's probability, highest by dynamic programming
    over the cuts); None when that is the blob whole."""
    cuts, pieces = candidate_pieces(blob, ink)
    keys = list(pieces)
    crops = np.stack([crop(pieces[key], ink) for key in keys])
    probabilities, not_one_digit = classifier.read(crops)
    read = {
        key: _Reading(row, pieces[key], crop_, p, float(p_not))
        for key, crop_, p, p_not in zip(keys, crops, probabilities, not_one_digit)
    }
    # The top digit's probability counts too: a wide 0 judged doubtful is kept whole when no cut reads better.
    best: list[tuple[float, int | None]] = [(0.0, None)] + [(-math.inf, None)] * (len(cuts) - 1)
    for j in range(1, len(cuts)):
        for i in range(j):
            if (i, j) in read and best[i][0] + read[(i, j)].score > best[j][0]:
                best[j] = (best[i][0] + read[(i, j)].score, i)
    path, j = [], len(cuts) - 1
    while j > 0 and best[j][1] is not None:
        path.append((best[j][1], j))
        j = best[j][1]
    if j != 0 or len(path) < 2:
        return None
    return [read[key] for key in reversed(path)]


def _one_digit_score(p: np.ndarray, p_not_one: float) -> float:
    """How likely a crop is one digit and that digit: log P(one digit) + log P(its top digit)."""
    return math.log(max(1.0 - float(p_not_one), 1e-9)) + math.log(max(float(p.max()), 1e-9))


def _scaling(scale: float, x: int = 0, y: int = 0) -> np.ndarray:
    """The 3x3 transform from an image `scale` times smaller, cut at (x, y), to the image it was cut from."""
    return np.array([[scale, 0, scale * x], [0, scale, scale * y], [0, 0, 1]])


def _bounds(transform: np.ndarray, x: float, y: float, right: float, bottom: float) -> np.ndarray:
    """x, y, right, bottom of the rectangle's four corners after the 3x3 transform."""
    corners = np.array([[x, y, 1], [right, y, 1], [x, bottom, 1], [right, bottom, 1]]) @ transform.T
    return np.concatenate([corners[:, :2].min(axis=0), corners[:, :2].max(axis=0)])


@dataclass
class _Found:
    """Digit candidates in an image made from the photo, the ink they were found in, and where that is."""

    blobs: list[tuple[int, Blob]]  # (row index, blob) in reading order
    ink: Ink
    to_photo: np.ndarray  # 3x3: this image's pixels to the original photo's
    photo_size: tuple[int, int]  # the original's width, height

    def box(self, blob: Blob) -> Box:
        """The blob's box in the original photo's pixels (around it, when the image was levelled)."""
        x, y, right, bottom = _bounds(self.to_photo, blob.x, blob.y, blob.right, blob.bottom)
        width, height = self.photo_size
        x, y = max(0, round(x)), max(0, round(y))
        return x, y, min(width, round(right)) - x, min(height, round(bottom)) - y


def _find_in(
    gray: np.ndarray, to_photo: np.ndarray, keep_blots_below: float, closing: int | None = None, pixel: float = 1.0
) -> tuple[list[tuple[int, Blob]], Ink, np.ndarray]:
    """find_blobs in `gray`, found again in its ink levelled when the writing slopes (the page turned under the
    phone): rows then stay rows, and each digit stands as MNIST's do. The blobs, their ink, and the 3x3
    transform from the ink's pixels to the photo's."""
    blobs, ink = find_blobs(gray, keep_blots_below, closing, pixel)
    slope = writing_slope([blob for _, blob in blobs])
    if abs(slope) < MIN_SLOPE:
        return blobs, ink, to_photo
    levelled, to_gray = ink.turned(slope)
    levelled_blobs = _numbered(find_digits(levelled, keep_blots_below, pixel))
    if not levelled_blobs:  # turning can join digits 1 px apart into one too wide to be a digit
        return blobs, ink, to_photo
    return levelled_blobs, levelled, to_photo @ to_gray


def _find_in_framed(image: DecodedImage) -> tuple[list[tuple[int, Blob]], Ink, np.ndarray]:
    """_find_in on the photo framed by its own paper, keeping only digits that fill the frame on even paper: a
    photo cropped tight around a digit has the digit's ink at or near its edge, where the ink finder leaves out
    table and page edges. The frame continues the paper estimate (the photo without its strokes) outward, so a
    page or table edge running off the photo still runs off the framed one, and ink at the edge ends there."""
    pad = max(8, round(FRAME_PAD * max(image.gray.shape)))
    # The paper of light strokes on a dark ground is the ground: estimated as for dark ink, it holds the strokes,
    # and a stroke running off the photo would run off the framed one too. With the wide closing: chalk's and a
    # drawing app's strokes can be wider than a pen's (an enlarged MNIST digit's are), and a board has no page edge.
    if is_light_on_dark(image.gray):
        background = 255 - paper_brightness(255 - image.gray, WIDE_CLOSING * paper_closing(image.gray.shape) | 1)
    else:
        background = paper_brightness(image.gray)
    framed = cv2.copyMakeBorder(background, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    framed[pad:-pad, pad:-pad] = image.gray
    blobs, ink, to_framed = _find_in(framed, np.eye(3), 0.0)
    # The ink may have been levelled: look at the framed photo as the ink lies.
    gray = cv2.warpAffine(framed, np.linalg.inv(to_framed)[:2], ink.mask.shape[::-1], flags=cv2.INTER_LINEAR)
    height, width = image.gray.shape
    filling = [(row, b) for row, b in blobs if _fills_the_height(b, height) and _on_even_paper(b, ink, gray)]
    span = max((b.right for _, b in filling), default=0) - min((b.x for _, b in filling), default=0)
    if span < MIN_FRAMED_WIDTH * width:
        filling = []
    return filling, ink, _scaling(image.scale, -pad, -pad) @ to_framed


def _fills_the_height(blob: Blob, height: int) -> bool:
    return blob.h >= MIN_FRAMED_HEIGHT * height


def _on_even_paper(blob: Blob, ink: Ink, gray: np.ndarray) -> bool:
    """Whether the grey levels in a band around the blob's outline spread little against its strokes' contrast."""
    inside = np.zeros(ink.mask.shape, np.uint8)
    cv2.drawContours(inside, blob.contours, -1, 1, thickness=-1)
    # A band from 4 % to 10 % of the blob's size outside its outline, not around each stroke: a marker's stroke
    # wider than the paper estimate's closing is ink only along its sides, and its dark middle is no paper.
    size = max(blob.h, blob.w)
    near, far = (np.ones((k, k), np.uint8) for k in (max(3, round(0.04 * size)), max(5, round(0.1 * size))))
    band = cv2.dilate(inside, far) & ~cv2.dilate(inside, near) & 1
    if not band.any():
        return False
    low, middle, high = percentiles(gray, (10, 50, 90), where=band)
    contrast = max(abs(middle - percentile(gray, 50, where=inside & (ink.mask > 0))), 1)
    if high - low <= MAX_PAPER_SPREAD * contrast:
        return True
    # Light falling off across the photo is no unevenness: around a plane fitted to the grey levels the spread is
    # small. The plane takes up part of a page edge's step too, hence the stricter bound; and a straight stroke, a
    # page edge's or a pen's side as much as a 1, is held to the paper as it is.
    if is_straight(np.concatenate(blob.contours), STRAIGHT_STROKE):
        return False
    ys, xs = np.nonzero(band)
    step = max(1, len(ys) // FIT_POINTS)
    ys, xs = ys[::step], xs[::step]
    grey = gray[ys, xs].astype(np.float32)
    low, high = np.percentile(grey - _plane_fit(xs, ys, grey), (10, 90))
    return high - low <= MAX_SPREAD_AROUND_PLANE * contrast


def _plane_fit(xs: np.ndarray, ys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The least-squares plane through `values` at (xs, ys), at those points."""
    terms = np.stack([np.ones(len(xs)), xs - xs.mean(), ys - ys.mean()], axis=1).astype(np.float32)
    coefficients = np.linalg.lstsq(terms, values, rcond=None)[0]
    return terms @ coefficients


def _cut_by_the_edge(blobs: list[tuple[int, Blob]], ink: Ink, height: int) -> bool:
    """Whether digits fill the photo's height and the first look may have lost one to its edge: ink reaches the
    edge (where the table and page edges it leaves out run off) or comes near both top and bottom (a digit as
    tall as the photo, which find_digits takes for none): in a number cropped tight, the first or last digit."""
    if not any(_fills_the_height(blob, height) for _, blob in blobs):
        return False
    mask, inside_photo = ink.mask, ink.inside_photo()
    if inside_photo is not None:  # levelled ink: the photo's edge lies inside the canvas
        return bool((mask & ~inside_photo).any())
    near = max(2, round((1 - MAX_DIGIT_HEIGHT_FRACTION) * mask.shape[0]))
    as_tall_as_the_photo = mask[:near].any() and mask[-near:].any()
    return bool(as_tall_as_the_photo or mask[:2].any() or mask[-2:].any() or mask[:, :2].any() or mask[:, -2:].any())


def _find_digits(data: bytes, image: DecodedImage) -> _Found:
    """Digit candidates in reading order, in the working image or, for small digits, a sharper part of it.

    Small digits are found again at twice the working resolution when the photo has it, in the
    part around them (ink is looked for only there), and small blots are judged there: at the
    working size the loops of a small 8 fill in as a punched hole's disc does.
    """
    small = SMALL_DIGITS * min(image.gray.shape)
    closer_look = image.scale >= 1.5
    photo_size = (image.width, image.height)
    blobs, ink, to_photo = _find_in(image.gray, _scaling(image.scale), small if closer_look else 0.0)
    if not blobs or _cut_by_the_edge(blobs, ink, image.gray.shape[0]):
        framed = _find_in_framed(image)
        if len(framed[0]) > len(blobs):
            blobs, ink, to_photo = framed
    found = _Found(_without_blots(blobs), ink, to_photo, photo_size)
    tallest = max((blob.h for _, blob in blobs), default=0)
    if not blobs or tallest >= small or not closer_look:
        return found
    sharper = decode_image(data, long_side=2 * WORK_LONG_SIDE)
    # Wide enough to take in a neighbour the first look missed (small digits run into each other at 640 px).
    margin = 3 * tallest
    around = _bounds(
        np.linalg.inv(_scaling(sharper.scale)) @ to_photo,
        min(b.x for _, b in blobs) - margin,
        min(b.y for _, b in blobs) - margin,
        max(b.right for _, b in blobs) + margin,
        max(b.bottom for _, b in blobs) + margin,
    )
    left, top = max(0, round(around[0])), max(0, round(around[1]))
    right, bottom = round(around[2]), round(around[3])
    # The paper estimated as for the whole photo: judged on the part alone, its closing would be narrower, and
    # the inside of a punched hole pass for paper (the hole for a 0).
    sharp_blobs, sharp_ink, sharp_to_photo = _find_in(
        sharper.gray[top:bottom, left:right],
        _scaling(sharper.scale, left, top),
        0.0,
        closing=paper_closing(sharper.gray.shape),
        pixel=sharper.scale / image.scale,
    )
    return _Found(sharp_blobs, sharp_ink, sharp_to_photo, photo_size) if sharp_blobs else found
