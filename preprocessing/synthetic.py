"""Seeded synthetic phone photos of handwritten digits, to measure and tune the photo pipeline.

`render_photo(kind, seed, digits)` builds one photo the way a phone sees a sheet of handwriting: a scene
(paper with rules or a grid, a table beyond the page edge, a blackboard, a drawing-app screenshot...),
digits from a `DigitSource` drawn with a random pen and multiplied into the paper, then lighting
(gradient, vignetting, shadows, white balance) and camera effects (perspective, blur, noise, JPEG).
`make_photos(kind, count, seed)` renders a batch; `training_crops` turns photos into labelled 28x28
images to train the model on. Kinds: "single" (one digit), "number" (2-6 digits),
"two_rows" (two numbers one above the other, text "12 345"), "blank" (no digit), "inverted" (light on
dark: blackboard, dark-mode drawing app, inverted whiteboard photo), "touching" (2-4 digits written so
close that neighbours run into each other), "tilted" (2-6 digits, the phone held 5-20 degrees askew) and
"with_pen" (1-4 digits and the pen or pencil that wrote them lying on the page beside them) and "marked"
(1-4 digits underlined once or twice, boxed, written in a row of cells, ringed or followed by a full stop).

Every glyph is a stroke graph (points joined by edges, units of digit height) redrawn at the pen's width,
so MNIST digits can be written with a 2 px ballpoint as well as a marker. All randomness comes from one
numpy Generator per photo: the same seed always gives the same bytes.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from preprocessing.decode import decode_image
from preprocessing.ink import Ink
from preprocessing.recognize import candidate_pieces, crop, digit_crops, find_blobs
from preprocessing.segment import Blob

KINDS = ("single", "number", "two_rows", "blank", "inverted", "touching", "tilted", "with_pen", "marked")
TRAINING_KINDS = ("single", "number", "single", "two_rows", "number", "inverted")

# (width, height) and how often phones/Telegram give them.
FRAMES = ((1280, 960), (960, 1280), (1600, 1200), (800, 600), (1280, 720))
FRAME_WEIGHTS = (0.4, 0.4, 0.07, 0.07, 0.06)
SCREENSHOT_FRAMES = ((960, 1280), (720, 1280), (591, 1280), (1280, 960), (1080, 1080))

MNIST_STROKE_SHARE = 0.18  # share of stroke-drawn digits mixed into an MNIST-backed source
# At least this share of a traced MNIST digit's ink lies near its trace (within about a stroke's width);
# less is a stroke the trace lost (a bold 3's middle pruned as a spur: the photo would show a ")" labelled 3).
MIN_TRACE_COVER = 0.95

Colour = tuple[float, float, float] | np.ndarray  # RGB in [0, 1]

# Colours are RGB reflectances in [0, 1]; inks are what they look like on white paper.
PAPERS = {
    "white": (0.96, 0.96, 0.95),
    "cream": (0.96, 0.93, 0.85),
    "grey": (0.87, 0.87, 0.85),
    "yellow": (0.98, 0.94, 0.62),
    "blue": (0.78, 0.88, 0.96),
    "pink": (0.98, 0.80, 0.86),
    "green": (0.82, 0.94, 0.78),
}
PAPER_WEIGHTS = (0.45, 0.15, 0.15, 0.1, 0.05, 0.05, 0.05)
INKS = {
    "black": (0.13, 0.13, 0.16),
    "dark_blue": (0.12, 0.15, 0.35),
    "blue": (0.16, 0.26, 0.66),
    "red": (0.74, 0.17, 0.18),
    "green": (0.13, 0.45, 0.25),
}
INK_WEIGHTS = (0.35, 0.2, 0.3, 0.08, 0.07)
PENS = ("ballpoint", "gel", "marker", "pencil")
PEN_WEIGHTS = (0.4, 0.2, 0.25, 0.15)


@dataclass
class SyntheticPhoto:
    kind: str
    text: str  # digits left to right, rows separated by one space ("42 317"); "" for blank
    image: bytes  # JPEG, or PNG for drawing-app screenshots
    width: int
    height: int
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # x, y, w, h per digit, reading order


@dataclass
class Glyph:
    """A digit as a stroke graph: points (N, 2) as x, y with height 1 and top-left at 0, edges (M, 2)."""

    points: np.ndarray
    edges: np.ndarray


# ---------------------------------------------------------------------------------------------------------
# Glyphs
# ---------------------------------------------------------------------------------------------------------

# Stroke templates in a box 0.7 wide and 1 high, y downwards: (smooth, control points) per stroke.
Stroke = tuple[bool, tuple[tuple[float, float], ...]]
TEMPLATES: dict[int, list[list[Stroke]]] = {
    1: [
        [(False, ((0.3, 0.0), (0.3, 1.0)))],
        [(False, ((0.08, 0.26), (0.38, 0.0), (0.38, 1.0)))],
        [(False, ((0.08, 0.26), (0.38, 0.0), (0.38, 1.0))), (False, ((0.1, 1.0), (0.66, 1.0)))],
    ],
    2: [
        [
            (True, ((0.04, 0.22), (0.2, 0.04), (0.42, 0.0), (0.6, 0.14), (0.58, 0.36), (0.33, 0.67), (0.02, 1.0))),
            (False, ((0.02, 1.0), (0.68, 0.98))),
        ],
        [
            (True, ((0.06, 0.2), (0.3, 0.01), (0.55, 0.08), (0.58, 0.32), (0.3, 0.7), (0.06, 0.94), (0.2, 0.92))),
            (True, ((0.2, 0.92), (0.4, 1.0), (0.68, 0.96))),
        ],
    ],
    3: [
        [
            (
                True,
                (
                    (0.05, 0.14),
                    (0.25, 0.01),
                    (0.5, 0.04),
                    (0.58, 0.22),
                    (0.45, 0.42),
                    (0.25, 0.48),
                    (0.45, 0.52),
                    (0.62, 0.7),
                    (0.55, 0.92),
                    (0.3, 1.0),
                    (0.03, 0.88),
                ),
            )
        ],
        [
            (False, ((0.05, 0.0), (0.6, 0.0), (0.28, 0.4))),
            (True, ((0.28, 0.4), (0.55, 0.5), (0.63, 0.72), (0.5, 0.93), (0.28, 1.0), (0.03, 0.9))),
        ],
    ],
    4: [
        [(False, ((0.42, 0.0), (0.02, 0.66), (0.7, 0.66))), (False, ((0.52, 0.3), (0.52, 1.0)))],
        [(False, ((0.08, 0.0), (0.04, 0.6), (0.68, 0.6))), (False, ((0.52, 0.05), (0.52, 1.0)))],
    ],
    5: [
        [
            (False, ((0.6, 0.0), (0.14, 0.0), (0.1, 0.45))),
            (True, ((0.1, 0.45), (0.32, 0.36), (0.55, 0.45), (0.63, 0.7), (0.52, 0.93), (0.28, 1.0), (0.02, 0.9))),
        ],
    ],
    6: [
        [
            (
                True,
                (
                    (0.55, 0.02),
                    (0.32, 0.14),
                    (0.12, 0.42),
                    (0.08, 0.72),
                    (0.22, 0.96),
                    (0.42, 0.98),
                    (0.6, 0.8),
                    (0.55, 0.6),
                    (0.35, 0.52),
                    (0.12, 0.64),
                ),
            )
        ],
    ],
    7: [
        [(False, ((0.02, 0.04), (0.65, 0.0), (0.28, 1.0)))],
        [(False, ((0.02, 0.04), (0.65, 0.0), (0.28, 1.0))), (False, ((0.16, 0.5), (0.6, 0.5)))],
        [(False, ((0.02, 0.1), (0.1, 0.02), (0.65, 0.02))), (True, ((0.65, 0.02), (0.45, 0.4), (0.32, 1.0)))],
    ],
    8: [
        [
            (
                True,
                (
                    (0.52, 0.14),
                    (0.32, 0.0),
                    (0.1, 0.1),
                    (0.12, 0.32),
                    (0.35, 0.48),
                    (0.58, 0.66),
                    (0.56, 0.92),
                    (0.32, 1.0),
                    (0.06, 0.9),
                    (0.06, 0.68),
                    (0.32, 0.48),
                    (0.52, 0.32),
                    (0.52, 0.14),
                    (0.4, 0.02),
                ),
            )
        ],
    ],
    9: [
        [
            (True, ((0.58, 0.2), (0.4, 0.02), (0.15, 0.05), (0.06, 0.26), (0.2, 0.44), (0.45, 0.42), (0.6, 0.22))),
            (True, ((0.6, 0.08), (0.6, 0.5), (0.55, 1.0))),
        ],
        [
            (True, ((0.58, 0.2), (0.4, 0.02), (0.15, 0.05), (0.06, 0.26), (0.2, 0.44), (0.45, 0.42), (0.6, 0.22))),
            (True, ((0.6, 0.1), (0.6, 0.55), (0.5, 0.88), (0.25, 1.0))),
        ],
    ],
}
HERSHEY_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC,
    cv2.FONT_HERSHEY_PLAIN,
)


def _neighbour_tables() -> np.ndarray:
    """Rules indexed by a pixel's 8-neighbour code (bit k: p2..p9, clockwise from north): Zhang-Suen removal
    for both sub-steps, and stroke ends (one neighbour, or two touching ones)."""
    tables = np.zeros((3, 256), bool)
    for code in range(256):
        p2, p3, p4, p5, p6, p7, p8, p9 = ring = [(code >> k) & 1 for k in range(8)]
        transitions = sum(ring[k] == 0 and ring[(k + 1) % 8] == 1 for k in range(8))
        simple = 2 <= sum(ring) <= 6 and transitions == 1
        tables[0, code] = simple and p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
        tables[1, code] = simple and p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
        tables[2, code] = sum(ring) == 1 or (sum(ring) == 2 and transitions == 1)
    return tables


NEIGHBOUR_TABLES = _neighbour_tables()
THINNING_STEPS, ENDS = NEIGHBOUR_TABLES[:2], NEIGHBOUR_TABLES[2]


NEIGHBOUR_WEIGHTS = np.array([[128, 1, 2], [64, 0, 4], [32, 16, 8]], np.float32)  # p9 p2 p3 / p8 . p4 / p7 p6 p5


def _neighbour_codes(img: np.ndarray) -> np.ndarray:
    """8-neighbour code of every pixel of a 0/1 uint8 image (outside counts as 0)."""
    return cv2.filter2D(img, cv2.CV_16S, NEIGHBOUR_WEIGHTS, borderType=cv2.BORDER_CONSTANT)


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean mask to a one-pixel-wide skeleton."""
    img = mask.astype(np.uint8)
    changed = True
    while changed:
        changed = False
        for table in THINNING_STEPS:
            remove = table[_neighbour_codes(img)] & (img == 1)
            if remove.any():
                img[remove] = 0
                changed = True
    return img.astype(bool)


def _prune(skeleton: np.ndarray, length: int) -> np.ndarray:
    """Remove side branches shorter than `length` pixels (the spurs thinning leaves at thick corners).

    Every stroke end is eaten back `length` pixels, then the ends that survive grow back along the skeleton;
    strokes eaten whole come back whole.
    """
    original = skeleton.astype(np.uint8)
    eaten = original.copy()
    for _ in range(length):
        eaten[ENDS[_neighbour_codes(eaten)] & (eaten == 1)] = 0
    grown = (ENDS[_neighbour_codes(eaten)] & (eaten == 1)).astype(np.uint8)
    for _ in range(length):
        grown = cv2.dilate(grown, np.ones((3, 3), np.uint8)) & original
    pruned = eaten | grown
    _, parts = cv2.connectedComponents(original)
    lost = np.setdiff1d(parts[original == 1], parts[pruned == 1])
    pruned[np.isin(parts, lost)] = 1  # short strokes on their own are not spurs: keep them whole
    return pruned.astype(bool)


def _normalise(points: np.ndarray, edges: np.ndarray) -> Glyph:
    points = points - points.min(axis=0)
    return Glyph((points / max(float(points[:, 1].max()), 1e-6)).astype(np.float32), edges.astype(np.int32))


def _skeleton_glyph(
    mask: np.ndarray, smoothing: int = 3, max_blob: float = math.inf, min_cover: float = 0.0
) -> Glyph | None:
    """The stroke graph of a binary shape: its pruned skeleton's pixels joined to their 8-neighbours, smoothed.

    None when the shape has an ink blob more than `max_blob` times as wide as its typical stroke (a loop
    filled with ink, which a thin pen would not reproduce), thins to a dot, or when less than `min_cover`
    of the shape lies within twice its typical half-width (plus 2 px) of the pruned skeleton.
    """
    skeleton = _thin(mask)
    half_widths = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)[skeleton]
    stroke = float(np.median(half_widths))
    if half_widths.max() > max_blob * stroke:
        return None
    skeleton = _prune(skeleton, round(2 * stroke))
    from_skeleton = cv2.distanceTransform(1 - skeleton.view(np.uint8), cv2.DIST_L2, 3)[mask]
    if np.count_nonzero(from_skeleton <= 2 * stroke + 2) < min_cover * len(from_skeleton):
        return None
    skeleton = np.pad(skeleton, 1)
    ys, xs = np.nonzero(skeleton)
    index = np.full(skeleton.shape, -1, np.int64)
    index[ys, xs] = np.arange(len(ys))
    edges = []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        neighbour = index[ys + dy, xs + dx]
        found = neighbour >= 0
        edges.append(np.stack([np.nonzero(found)[0], neighbour[found]], axis=1))
    edges = np.concatenate(edges)
    if len(edges) == 0:
        return None
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    degree = np.bincount(edges.ravel(), minlength=len(points))
    movable = degree > 1  # stroke ends stay put so smoothing does not shorten strokes
    for _ in range(smoothing):
        total = points.copy()
        np.add.at(total, edges[:, 0], points[edges[:, 1]])
        np.add.at(total, edges[:, 1], points[edges[:, 0]])
        points[movable] = (total / (degree + 1)[:, None])[movable]
    return _normalise(points, edges)


def _loops(mask: np.ndarray) -> int:
    """The number of holes in a binary shape (the loops of an 8: two)."""
    _, hierarchy = cv2.findContours(mask.view(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return 0 if hierarchy is None else int(np.count_nonzero(hierarchy[0][:, 3] >= 0))


def mnist_glyph(image: np.ndarray) -> Glyph | None:
    """Skeleton graph of a 28x28 MNIST digit, traced at 3x so curves stay smooth; None for a digit broken in
    pieces, with an ink-filled loop, or one the trace would not draw as written (a loop or stroke lost)."""
    big = cv2.resize(image, (84, 84), interpolation=cv2.INTER_CUBIC)
    sharp = big > 127
    big = cv2.GaussianBlur(big, (0, 0), 1.1)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((big > 90).astype(np.uint8))
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.nonzero(areas >= 0.05 * areas.max())[0]
    if len(keep) > 2:
        return None
    mask = np.isin(labels, keep)
    # The blur that smooths the outline also fills the small loops of a bold digit: an 8 would be drawn as a 0.
    if _loops(sharp) > _loops(mask):
        return None
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    return _skeleton_glyph(np.pad(mask[y : y + h, x : x + w], 2), max_blob=1.9, min_cover=MIN_TRACE_COVER)


def glyph_ink(glyph: Glyph, height: int = 100, pen: float = 0.07) -> np.ndarray:
    """The glyph drawn upright on a blank canvas, `height` px tall with a pen `pen` x its height wide: ink
    strength in [0, 1], cropped to the ink. What every photo draws, before paper, light and camera."""
    width = max(1, round(pen * height))
    points = glyph.points * height + width / 2 + 1
    right, bottom = np.ceil(points.max(axis=0)).astype(int) + width + 2
    mask = _draw([(points, glyph.edges)], int(right), int(bottom), width)
    x, y, w, h = cv2.boundingRect(mask)
    return mask[y : y + h, x : x + w].astype(np.float32) / 255


def _catmull_rom(points: np.ndarray, samples: int = 8) -> np.ndarray:
    padded = np.concatenate([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    pieces = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        pieces.append(
            0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        )
    return np.concatenate(pieces + [points[-1:]])


def _densify(points: np.ndarray, step: float = 0.04) -> np.ndarray:
    length = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    at = np.linspace(0, length[-1], max(2, int(length[-1] / step) + 1))
    return np.stack([np.interp(at, length, points[:, 0]), np.interp(at, length, points[:, 1])], axis=1)


def _zero_stroke(rng: np.random.Generator) -> list[Stroke]:
    """An oval started near the top, with a small overlap or gap where the pen closes it."""
    start = -math.pi / 2 + rng.normal(0, 0.35)
    sweep = 2 * math.pi + rng.uniform(-0.25, 0.45)
    angles = start - np.linspace(0, sweep, 14) * rng.choice((-1, 1), p=(0.3, 0.7))
    width = rng.uniform(0.22, 0.36)
    return [(True, tuple((0.35 + width * math.cos(a), 0.5 + 0.5 * math.sin(a)) for a in angles))]


def _template_glyph(label: int, rng: np.random.Generator) -> Glyph:
    """A digit drawn from a stroke template with every control point moved a little."""
    strokes = _zero_stroke(rng) if label == 0 else TEMPLATES[label][rng.integers(len(TEMPLATES[label]))]
    points, edges, offset = [], [], 0
    for smooth, control in strokes:
        control = np.asarray(control, np.float64) + rng.normal(0, 0.025, (len(control), 2))
        line = _catmull_rom(control) if smooth else _densify(control)
        points.append(line)
        edges.append(offset + np.stack([np.arange(len(line) - 1), np.arange(1, len(line))], axis=1))
        offset += len(line)
    return _normalise(np.concatenate(points), np.concatenate(edges))


def _hershey_glyph(label: int, font: int) -> Glyph:
    """A digit of an OpenCV Hershey stroke font, traced back to its centre lines."""
    canvas = np.zeros((120, 120), np.uint8)
    scale = cv2.getFontScaleFromHeight(font & 0xF, 64)
    cv2.putText(canvas, str(label), (25, 90), font, scale, 255, 2, cv2.LINE_8)
    return _skeleton_glyph(canvas > 0, smoothing=2)


class DigitSource:
    """Digit glyphs by label: MNIST test images (never training images) and/or stroke-drawn digits."""

    def __init__(
        self,
        images: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        stroke_share: float = 1.0,
        hershey: bool = True,
    ):
        """`images` (N, 28, 28) uint8 with `labels` (N,), or none; `stroke_share`: chance of a stroke-drawn digit.

        `hershey=False` draws stroke digits from the templates only, keeping the Hershey fonts unseen
        by a model trained on these photos (see training_crops).
        """
        self.stroke_share = stroke_share if images is not None else 1.0
        self.hershey = hershey
        self._images = images
        self._by_label = [np.nonzero(labels == d)[0] for d in range(10)] if labels is not None else []
        self._cache: dict[tuple, Glyph | None] = {}

    @classmethod
    def from_mnist(cls, data_dir: str | os.PathLike | None = None) -> DigitSource:
        """MNIST test digits with about 18% stroke-drawn digits mixed in; raises model.data.DataUnavailable."""
        from model.data import load_test

        split = load_test(data_dir)
        return cls(split.images.numpy(), split.labels.numpy(), MNIST_STROKE_SHARE)

    @classmethod
    def strokes_only(cls) -> DigitSource:
        """Templates and Hershey fonts only: needs no data."""
        return cls()

    def glyph(self, label: int, rng: np.random.Generator) -> Glyph:
        """A random glyph of `label` (0-9), chosen with `rng`."""
        while rng.random() >= self.stroke_share:
            glyph = self._cached(("mnist", int(rng.choice(self._by_label[label]))))
            if glyph is not None:
                return glyph
        # Hershey zeros are slashed, and Hershey 4s trace into a closed triangle that people read as a 0.
        if self.hershey and label not in (0, 4) and rng.random() < 0.35:
            return self._cached(("hershey", label, int(rng.choice(HERSHEY_FONTS))))
        return _template_glyph(label, rng)

    def _cached(self, key: tuple) -> Glyph | None:
        if key not in self._cache:
            self._cache[key] = mnist_glyph(self._images[key[1]]) if key[0] == "mnist" else _hershey_glyph(*key[1:])
        return self._cache[key]


# ---------------------------------------------------------------------------------------------------------
# Digit layout
# ---------------------------------------------------------------------------------------------------------


def _shape(glyph: Glyph, rng: np.random.Generator, aspect: float, slant: float) -> np.ndarray:
    """The glyph's points as this writer draws it: wobbled, resized, slanted, turned; bottom-left at 0."""
    points = glyph.points.astype(np.float64)
    phase = rng.uniform(0, 2 * math.pi, (2, 2))
    frequency = rng.uniform(2, 5, (2, 2))
    amplitude = rng.uniform(0.005, 0.025)
    for axis in range(2):
        points[:, axis] += amplitude * np.sin(frequency[axis, 0] * points[:, 1 - axis] * 2 + phase[axis, 0])
        points[:, axis] += amplitude * np.sin(frequency[axis, 1] * points[:, axis] * 2 + phase[axis, 1])
    size = rng.uniform(0.9, 1.1)
    turn = math.radians(rng.normal(0, 2.5))
    shear = slant + rng.normal(0, 0.04)
    matrix = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]]) @ np.array(
        [[aspect * rng.uniform(0.94, 1.06), -shear], [0, 1]]
    )
    points = (points - 0.5) @ matrix.T * size
    return points - [points[:, 0].min(), points[:, 1].max()]


@dataclass
class Spacing:
    """How one writer spaces digits, in units of digit height."""

    gaps: np.ndarray  # blank space after each digit (the last one unused)
    baselines: np.ndarray  # each digit's shift off the row's baseline
    row_gap: float
    align: float  # second row: 0 left-aligned with the first, 0.5 centred, 1 right-aligned
    angle: float  # radians the rows run uphill or downhill


def _handwriting(rows: list[list[Glyph]], rng: np.random.Generator) -> tuple[list[list[np.ndarray]], Spacing]:
    """Shapes of every digit as one writer draws them, and how that writer spaces them (see `_arrange`)."""
    aspect = rng.uniform(0.8, 1.25)
    slant = float(np.clip(rng.normal(0.05, 0.12), -0.3, 0.35))
    shapes = [[_shape(glyph, rng, aspect, slant) for glyph in row] for row in rows]
    count = sum(len(row) for row in rows)
    spacing = Spacing(
        gaps=math.exp(rng.uniform(math.log(0.06), math.log(0.6))) * rng.uniform(0.75, 1.25, count),
        baselines=rng.normal(0, 0.03, count),
        row_gap=rng.uniform(0.35, 1.0),
        align=float(rng.choice((0.0, 0.5, 1.0, rng.uniform(0, 1)))),
        angle=math.radians(float(np.clip(rng.normal(0, 4), -10, 10))),
    )
    return shapes, spacing


def _arrange(shapes: list[list[np.ndarray]], spacing: Spacing, pen: float) -> list[np.ndarray]:
    """Digits side by side (a gap plus one pen width apart), rows one below the other, all turned together."""
    placed, widths, index = [], [], 0
    for r, row in enumerate(shapes):
        x, y = 0.0, r * (1 + spacing.row_gap + pen)
        row_placed = []
        for points in row:
            row_placed.append(points + [x, y + spacing.baselines[index]])
            x += points[:, 0].max() + spacing.gaps[index] + pen
            index += 1
        widths.append(x - spacing.gaps[index - 1] - pen)
        placed.append(row_placed)
    for r, row_placed in enumerate(placed):
        shift = (widths[0] - widths[r]) * spacing.align
        for points in row_placed:
            points[:, 0] += shift
    angle = spacing.angle
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return [points @ rotation.T for row_placed in placed for points in row_placed]


def _extent(points: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    everything = np.concatenate(points)
    return everything.min(axis=0), everything.max(axis=0)


# ---------------------------------------------------------------------------------------------------------
# Surfaces: paper, tables, walls, boards. Images are channel-first (3, h, w) float32 RGB, so numpy broadcasts
# whole planes; they hold reflectances in [0, 1] until lighting turns them into 0-255 values. Everything is
# drawn straight in photo coordinates; only ruled lines and digits live on the page and go through the camera's
# homography.
# ---------------------------------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float, stretch: float = 1) -> np.ndarray:
    """Smooth noise of roughly unit spread, (h, w) float32, blobs `cell` pixels high and `stretch` times wider."""
    grid = rng.standard_normal((max(2, round(h / cell)) + 2, max(2, round(w / cell / stretch)) + 2))
    smooth = cv2.resize(grid.astype(np.float32), (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_CUBIC)
    return cv2.resize(smooth, (w, h), interpolation=cv2.INTER_LINEAR)  # cubic all the way is 10x slower


def _grain(rng: np.random.Generator, h: int, w: int, terms: int = 1) -> np.ndarray:
    """Per-pixel noise of unit spread, (h, w) float32: a sum of `terms` uniforms (cheaper than normals)."""
    values = rng.integers(0, 256, (terms, h, w), dtype=np.uint8)
    grain = values[0].astype(np.float32)
    for more in values[1:]:
        grain += more
    grain -= 127.5 * terms
    grain *= np.float32(1 / (73.9 * math.sqrt(terms)))
    return grain


def _planes(colour: Colour) -> np.ndarray:
    return np.asarray(colour, np.float32)[:, None, None]


def _tint(shade: np.ndarray, colour: Colour) -> np.ndarray:
    """A (h, w) shade times an RGB colour: (3, h, w)."""
    return _planes(colour) * shade


def _mix(low: Colour, high: Colour, amount: np.ndarray) -> np.ndarray:
    """Colours from `low` to `high` as `amount` (h, w) goes from 0 to 1: (3, h, w)."""
    return _planes(low) + _planes(np.subtract(high, low)) * amount


def _multiply(image: np.ndarray, mask: np.ndarray, colour: Colour, strength: float = 1.0) -> None:
    """Darken `image` in place where `mask` (uint8, or float in [0, 1]) is set, as ink or printed lines do."""
    alpha = mask.astype(np.float32) * np.float32(strength / 255 if mask.dtype == np.uint8 else strength)
    image *= 1 - alpha * _planes(1 - np.asarray(colour))


def _cover(image: np.ndarray, mask: np.ndarray, colour: Colour) -> None:
    """Lay an opaque colour over `image` in place, as much as `mask` (float in [0, 1]) says: chalk, paint."""
    image += mask * (_planes(colour) - image)


def _coordinates(h: int, w: int, angle: float) -> np.ndarray:
    """x cos(angle) + y sin(angle) for every pixel, (h, w) float32."""
    xs = np.arange(w, dtype=np.float32)[None, :] * np.float32(math.cos(angle))
    return xs + np.arange(h, dtype=np.float32)[:, None] * np.float32(math.sin(angle))


def _project(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Page points (N, 2) where the camera sees them."""
    return cv2.perspectiveTransform(np.asarray(points, np.float64).reshape(-1, 1, 2), homography).reshape(-1, 2)


def _page_lines(mask: np.ndarray, homography: np.ndarray, segments: list[tuple], thickness: int) -> None:
    """Draw straight page segments (x0, y0, x1, y1) into a photo mask, antialiased."""
    ends = _project(homography, np.reshape(segments, (-1, 2))).reshape(-1, 2, 2)
    cv2.polylines(mask, np.round(ends * 16).astype(np.int32), False, 255, thickness, cv2.LINE_AA, 4)


def _paper(rng: np.random.Generator, w: int, h: int, homography: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A sheet filling the frame, plain, ruled or squared; returns it and the ruled lines' page ys (or None)."""
    colour = np.clip(np.array(PAPERS[rng.choice(list(PAPERS), p=PAPER_WEIGHTS)]) + rng.normal(0, 0.012, 3), 0, 1)
    paper = _tint(1 + rng.uniform(0.002, 0.01) * _smooth_noise(rng, h, w, rng.uniform(60, 250)), colour)
    pattern = rng.choice(("plain", "ruled", "squared"), p=(0.5, 0.3, 0.2))
    if pattern == "plain":
        return paper, None
    unit = (w + h) / 2
    thickness = int(rng.choice((1, 1, 2)))
    spacing = unit * (rng.uniform(0.03, 0.06) if pattern == "ruled" else rng.uniform(0.04, 0.08))
    ys = np.arange(rng.uniform(0, spacing), h, spacing)
    segments = [(-0.1 * w, y, 1.1 * w, y) for y in ys]
    if pattern == "squared":
        segments += [(x, -0.1 * h, x, 1.1 * h) for x in np.arange(rng.uniform(0, spacing), w, spacing)]
    lines = np.zeros((h, w), np.uint8)
    _page_lines(lines, homography, segments, thickness)
    blue, grey = (0.55, 0.72, 0.92), (0.62, 0.63, 0.66)
    _multiply(paper, lines, blue if rng.random() < 0.65 else grey, rng.uniform(0.3, 0.75))
    if pattern == "ruled" and rng.random() < 0.3:
        margin = np.zeros((h, w), np.uint8)
        x = w * rng.uniform(0.06, 0.2)
        _page_lines(margin, homography, [(x, -0.1 * h, x, 1.1 * h)], thickness + int(rng.integers(0, 2)))
        _multiply(paper, margin, (0.9, 0.45, 0.5), rng.uniform(0.4, 0.8))
    return paper, ys if pattern == "ruled" else None


def _wood(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Planks of wood with long, gently wavy grain running roughly along one side of the frame."""
    vertical = rng.random() < 0.5
    small_w, small_h = (h // 2, w // 2) if vertical else (w // 2, h // 2)
    straight = _coordinates(small_h, small_w, math.pi / 2 + math.radians(rng.uniform(-12, 12)))
    period = rng.uniform(0.008, 0.03) * small_w
    across = straight + period * rng.uniform(0.5, 3) * _smooth_noise(rng, small_h, small_w, rng.uniform(15, 50), 10)
    rings = 0.5 + 0.5 * np.sin(across * np.float32(2 * math.pi / period))
    streaks = cv2.blur(_grain(rng, small_h, small_w), (int(rng.integers(15, 50)), 1))
    plank = rng.uniform(0.2, 0.6) * small_h
    plank_tone = rng.uniform(-0.12, 0.12, 16).astype(np.float32)[(straight // plank).astype(np.int64) % 16]
    tone = 0.45 + 0.3 * rings**3 + 0.1 * streaks + plank_tone
    seam = np.abs((straight + plank / 2) % plank - plank / 2)
    tone *= 1 - 0.5 * np.exp(-(seam**2))  # dark seams between planks
    tone = cv2.resize(np.ascontiguousarray(tone.T) if vertical else tone, (w, h), interpolation=cv2.INTER_LINEAR)
    brightness = rng.uniform(0.45, 1.1)
    return _mix(np.array((0.4, 0.25, 0.13)) * brightness, np.array((0.8, 0.6, 0.38)) * brightness, tone)


def _fabric(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    angle = rng.uniform(0, math.pi)
    period = rng.uniform(3, 8)
    weave = np.sin(_coordinates(h, w, angle) * np.float32(2 * math.pi / period))
    weave *= np.sin(_coordinates(h, w, angle + math.pi / 2) * np.float32(2 * math.pi / period))
    shade = 1 + rng.uniform(0.04, 0.12) * weave + 0.02 * _smooth_noise(rng, h, w, rng.uniform(50, 300))
    shade += 0.03 * _grain(rng, h, w)
    return _tint(shade, rng.uniform(0.1, 0.8, 3) * rng.uniform(0.4, 1.0))


def _wall(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    colour = rng.choice(((0.92, 0.91, 0.88), (0.9, 0.85, 0.75), (0.8, 0.82, 0.84), (0.85, 0.9, 0.85)))
    plaster = cv2.GaussianBlur(_grain(rng, h, w), (0, 0), rng.uniform(0.8, 2.0))
    shade = 1 + rng.uniform(0.01, 0.03) * _smooth_noise(rng, h, w, rng.uniform(40, 300)) + 0.05 * plaster
    return _tint(shade, np.asarray(colour) * rng.uniform(0.75, 1.0))


def _gradient(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    ramp = _coordinates(h, w, rng.uniform(0, 2 * math.pi))
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    return _mix(*rng.uniform(0.05, 0.95, (2, 3)), ramp)


def _desk(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    shade = 1 + 0.025 * _smooth_noise(rng, h, w, rng.uniform(100, 300)) + 0.03 * _grain(rng, h, w)
    return _tint(shade, rng.uniform(0.06, 0.35) * rng.uniform(0.85, 1.15, 3))


def _table(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """What lies beyond the page: a wooden, dark or cloth-covered table."""
    return (_wood, _desk, _fabric)[rng.choice(3, p=(0.45, 0.4, 0.15))](rng, w, h)


def _page_edges(
    rng: np.random.Generator, w: int, h: int, keep_clear: list[tuple[float, float, float, float]]
) -> np.ndarray | None:
    """Signed distance (px, positive on the page) to the page's edges, with a side or a corner of table showing.

    The page is a rotated rectangle whose visible edges run 3-30% into the frame; boxes in `keep_clear`
    (x0, y0, x1, y1) stay on the page. None when no such page fits.
    """
    margin = 0.03 * min(w, h)
    corners = np.array([(x, y) for x0, y0, x1, y1 in keep_clear for x in (x0, x1) for y in (y0, y1)])
    for _ in range(6):
        angle = math.radians(rng.uniform(-12, 12))
        visible = rng.choice(4, size=int(rng.choice((1, 2), p=(0.6, 0.4))), replace=False)
        if len(visible) == 2 and visible[0] % 2 == visible[1] % 2:
            visible = visible[:1]  # opposite sides: keep one
        distance = np.full((h, w), np.inf, np.float32)
        fits = True
        for side in visible:
            normal_angle = angle + side * math.pi / 2  # inward normals of the left, top, right, bottom edges
            normal = np.array((math.cos(normal_angle), math.sin(normal_angle)))
            inset = rng.uniform(0.03, 0.3) * (w if side % 2 == 0 else h)
            anchor = np.array((w / 2, h / 2)) - normal * ((w if side % 2 == 0 else h) / 2 - inset)
            offset = float(normal @ anchor)
            if len(corners) and ((corners @ normal) - offset < margin).any():
                fits = False
                break
            distance = np.minimum(distance, _coordinates(h, w, normal_angle) - offset)
        if fits:
            return distance
    return None


def _add_table(rng: np.random.Generator, scene: np.ndarray, keep_clear: list[tuple[float, ...]]) -> None:
    """Show the table beyond one edge or a corner of the page, in place, keeping `keep_clear` on the page."""
    h, w = scene.shape[1:]
    distance = _page_edges(rng, w, h, keep_clear)
    if distance is None:
        return
    table = _table(rng, w, h)
    table *= 1 - rng.uniform(0.2, 0.5) * cv2.exp(np.minimum(distance, 0) / np.float32(rng.uniform(3, 15)))
    page = np.clip(distance / 1.5 + 0.5, 0, 1)
    scene *= page
    scene += (1 - page) * table


def _crease(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Shade of a folded-and-flattened sheet: a faint dark line with a lighter flank, (h, w) float32."""
    angle = rng.uniform(0, math.pi)
    distance = _coordinates(h, w, angle) - rng.uniform(0.2, 0.8) * (w * abs(math.cos(angle)) + h * math.sin(angle))
    width = rng.uniform(1.5, 4)
    depth = rng.uniform(0.04, 0.12)
    fold = cv2.exp(-((distance / width) ** 2))
    flank = cv2.exp(-(((distance - 2 * width) / (4 * width)) ** 2))
    return 1 - depth * fold + 0.5 * depth * flank


def _blackboard(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A green or slate board hazed with chalk dust and the smears of earlier wiping."""
    colour = (0.13, 0.24, 0.18) if rng.random() < 0.6 else (0.15, 0.16, 0.17)
    board = _tint(1 + 0.04 * _grain(rng, h, w), np.asarray(colour) * rng.uniform(0.7, 1.3, 3))
    dust = np.clip(_smooth_noise(rng, h, w, rng.uniform(150, 400)), 0, None) * rng.uniform(0.01, 0.04)
    sw, sh = w // 8, h // 8
    swipes = np.zeros((sh, sw), np.float32)
    for _ in range(int(rng.integers(1, 6))):
        points = np.cumsum(rng.normal(0, 0.15, (4, 2)), axis=0) * (sw, sh) + rng.uniform(0, 1, 2) * (sw, sh)
        cv2.polylines(swipes, [points.astype(np.int32)], False, 1.0, max(1, int(rng.uniform(0.04, 0.12) * sh)))
    swipes = cv2.GaussianBlur(swipes, (0, 0), 0.03 * sh) * rng.uniform(0.02, 0.05)
    dust += cv2.resize(swipes, (w, h), interpolation=cv2.INTER_LINEAR)
    return board + dust


def _whiteboard(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    return _tint(1 + 0.02 * _smooth_noise(rng, h, w, rng.uniform(50, 300)), (0.93, 0.94, 0.95))


# ---------------------------------------------------------------------------------------------------------
# Light and camera
# ---------------------------------------------------------------------------------------------------------


def _lighting(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Illumination, (h, w) float32 with maximum near 1: gradient or lamp spot, vignetting, a hand shadow."""
    sw, sh = max(8, w // 8), max(8, h // 8)
    xs = np.linspace(-1, 1, sw, dtype=np.float32)[None, :] * np.float32(w / max(w, h))
    ys = np.linspace(-1, 1, sh, dtype=np.float32)[:, None] * np.float32(h / max(w, h))
    ratio = 1 + 1.5 * rng.random() ** 2
    if rng.random() < 0.7:
        angle = rng.uniform(0, 2 * math.pi)
        ramp = xs * np.float32(math.cos(angle)) + ys * np.float32(math.sin(angle))
    else:
        spot = rng.uniform(-1.2, 1.2, 2).astype(np.float32)
        ramp = np.sqrt((xs - spot[0]) ** 2 + (ys - spot[1]) ** 2)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    light = 1 - (1 - 1 / ratio) * ramp
    light *= 1 - rng.uniform(0, 0.25) * (xs**2 + ys**2) / 2
    if rng.random() < 0.3:
        light *= 1 - rng.uniform(0.2, 0.6) * _shadow(rng, sw, sh)
    return cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR)


def _shadow(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A soft blob reaching in from one side, like a hand or a phone between lamp and page."""
    side = rng.integers(4)
    along = np.sort(rng.uniform(0, 1, 2))
    depth = rng.uniform(0.2, 0.7)
    inner = np.column_stack([np.sort(rng.uniform(along[0] - 0.15, along[1] + 0.15, 3)), depth * rng.uniform(0.6, 1, 3)])
    outline = np.vstack([[along[0], -0.3], inner, [along[1], -0.3]])
    if side % 2:
        outline = outline[:, ::-1]
    if side >= 2:
        outline = 1 - outline
    mask = np.zeros((h, w), np.float32)
    cv2.fillPoly(mask, [(outline * (w, h)).astype(np.int32)], 1.0)
    return cv2.GaussianBlur(mask, (0, 0), max(w, h) * rng.uniform(0.015, 0.1))


def _glare(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """The soft reflection of a lamp on a glossy board, (h, w) float32 peaking at 1."""
    sw, sh = max(8, w // 8), max(8, h // 8)
    xs, ys = np.arange(sw, dtype=np.float32)[None, :], np.arange(sh, dtype=np.float32)[:, None]
    cx, cy = (rng.uniform(0.1, 0.9, 2) * (sw, sh)).tolist()
    rx = rng.uniform(0.08, 0.35) * max(sw, sh)
    ry = rx * rng.uniform(0.4, 1.0)
    spot = np.exp(-(((xs - cx) / rx) ** 2) - ((ys - cy) / ry) ** 2)
    return cv2.resize(spot, (w, h), interpolation=cv2.INTER_LINEAR)


def _white_balance(rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.6:
        return np.ones(3)
    cast = np.array((1.07, 1.0, 0.85) if rng.random() < 0.6 else (0.9, 0.97, 1.07))
    return 1 + rng.uniform(0.3, 1) * (cast - 1)


def _camera_quad(
    rng: np.random.Generator, w: int, h: int, tilt: float = 0.0
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Homography from the page to the photo (slight turn, plus `tilt` degrees, and perspective) and a page
    area fully in view."""
    angle = math.radians(float(np.clip(rng.normal(0, 1.5), -3, 3)) + tilt)
    cos, sin = abs(math.cos(angle)), abs(math.sin(angle))
    fit = min(w / (w * cos + h * sin), h / (w * sin + h * cos))
    corners = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    source = corners @ rotation.T * fit + (w / 2, h / 2)
    inward = np.array([(1, 1), (-1, 1), (-1, -1), (1, -1)])
    source += inward * rng.uniform(0, 1, (4, 2)) ** 1.5 * 0.08 * (w, h)
    target = corners + (w / 2, h / 2)
    homography = cv2.getPerspectiveTransform(source.astype(np.float32), target.astype(np.float32))
    left, top = max(source[0, 0], source[3, 0]), max(source[0, 1], source[1, 1])
    right, bottom = min(source[1, 0], source[2, 0]), min(source[2, 1], source[3, 1])
    pad = 0.025 * min(w, h)
    return homography, (left + pad, top + pad, right - pad, bottom - pad)


def _bgr(planes: np.ndarray) -> np.ndarray:
    """Channel-first RGB values (>= 0) to an interleaved uint8 BGR image, rounded and saturated."""
    return cv2.merge([cv2.convertScaleAbs(plane) for plane in planes[::-1]])


def _camera(rng: np.random.Generator, image: np.ndarray, blur_limit: float, invert: bool = False) -> np.ndarray:
    """Focus blur, sometimes motion blur, sensor noise (more in dark photos), sometimes sharpening; BGR uint8."""
    planes = list(image)
    sigma = rng.choice((rng.uniform(0, 0.6), rng.uniform(0.6, 1.3), rng.uniform(1.3, 2.0)), p=(0.5, 0.35, 0.15))
    if min(sigma, blur_limit) > 0.3:
        planes = [cv2.GaussianBlur(plane, (0, 0), min(sigma, blur_limit)) for plane in planes]
    if rng.random() < 0.12:
        length = rng.uniform(3, 3 + 4 * blur_limit)
        size = int(length) | 1
        kernel = np.zeros((size, size), np.float32)
        angle = rng.uniform(0, math.pi)
        dx, dy = length / 2 * math.cos(angle), length / 2 * math.sin(angle)
        ends = np.round(np.array([[size // 2 - dx, size // 2 - dy], [size // 2 + dx, size // 2 + dy]]) * 16)
        cv2.line(kernel, *ends.astype(int).tolist(), 1.0, 1, cv2.LINE_AA, 4)
        planes = [cv2.filter2D(plane, -1, kernel / kernel.sum()) for plane in planes]
    if invert:
        planes = [255 - plane for plane in planes]
    h, w = planes[0].shape
    darkness = 1 - float(np.mean([plane.mean() for plane in planes])) / 255
    strength = rng.uniform(2, 5) + 4 * darkness**2
    luma = _grain(rng, h, w, 2) * np.float32(strength)
    chroma = rng.standard_normal((3, h // 4, w // 4)).astype(np.float32) * np.float32(0.6 * strength)
    noisy = [
        cv2.add(plane, luma + cv2.resize(c, (w, h)), dtype=cv2.CV_8U) for plane, c in zip(planes, chroma, strict=True)
    ]
    photo = cv2.merge(noisy[::-1])
    if rng.random() < 0.3:
        amount = rng.uniform(0.2, 0.8)
        photo = cv2.addWeighted(photo, 1 + amount, cv2.GaussianBlur(photo, (0, 0), rng.uniform(1, 2)), -amount, 0)
    return photo


def _encode(bgr: np.ndarray, jpeg_quality: int | None = None) -> bytes:
    """JPEG at the given quality, or PNG without one."""
    if jpeg_quality is None:
        ok, data = cv2.imencode(".png", bgr)
    else:
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    assert ok
    return data.tobytes()


# ---------------------------------------------------------------------------------------------------------
# Photos
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Pen:
    kind: str  # ballpoint, gel, marker, pencil, chalk or brush
    width: float  # pixels, or a fraction of the digit height when relative
    relative: bool
    colour: np.ndarray  # RGB reflectance (inks on paper) or colour laid on top (chalk, brush)

    def pixels(self, digit_height: float) -> float:
        return max(1.6, self.width * digit_height if self.relative else self.width)


def _paper_pen(rng: np.random.Generator, short: int) -> Pen:
    kind = str(rng.choice(PENS, p=PEN_WEIGHTS))
    resolution = short / 960
    colour = np.array(INKS[rng.choice(list(INKS), p=INK_WEIGHTS)]) + rng.normal(0, 0.02, 3)
    if kind == "ballpoint":
        colour += rng.uniform(0, 0.12) * (1 - colour)  # light pressure
        return Pen(kind, rng.uniform(1.6, 3.6) * resolution, False, np.clip(colour, 0, 1))
    if kind == "gel":
        return Pen(kind, rng.uniform(3, 6) * resolution, False, np.clip(colour, 0, 1))
    if kind == "marker":
        return Pen(kind, rng.uniform(0.06, 0.1), True, np.clip(colour, 0, 1))
    return Pen(kind, rng.uniform(1.6, 3.2) * resolution, False, np.full(3, rng.uniform(0.25, 0.4)))


def _digit_rows(kind: str, rng: np.random.Generator) -> list[list[int]]:
    # Apart: every entry of `counts` below draws, and the other kinds' photos depend on those draws.
    # How many digits: from, up to but not.
    one_row = {"touching": (2, 5), "tilted": (2, 7), "with_pen": (1, 5), "marked": (1, 5)}
    if kind in one_row:
        return [[int(d) for d in rng.integers(0, 10, int(rng.integers(*one_row[kind])))]]
    counts = {
        "single": [1],
        "number": [int(rng.integers(2, 7))],
        "two_rows": [int(n) for n in rng.integers(1, 5, 2)],
        "blank": [],
        "inverted": [int(rng.choice((1, 2, 3), p=(0.6, 0.25, 0.15)))],
    }[kind]
    return [[int(d) for d in rng.integers(0, 10, n)] for n in counts]


def _place(
    rng: np.random.Generator,
    rows: list[list[int]],
    digits: DigitSource,
    area: tuple[float, float, float, float],
    height: float,
    pen: Pen,
    rules: np.ndarray | None = None,
    touching: bool = False,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], float, float]:
    """Lay the digits out in `area` (pixels), as big as `height` allows; on ruled paper often on a line.
    `touching`: each digit's widest point runs up to 5 % of the height into the next one's.

    Returns each digit's (points in pixels, edges), the digit height and the pen width in pixels.
    """
    glyphs = [[digits.glyph(label, rng) for label in row] for row in rows]
    shapes, spacing = _handwriting(glyphs, rng)
    if touching:
        spacing.gaps = rng.uniform(-0.05, 0, len(spacing.gaps))
    on_lines = rules is not None and len(rows) == 1 and rng.random() < 0.6
    if on_lines:
        spacing.angle *= 0.2
    x0, y0, x1, y1 = area
    for _ in range(3):
        width = pen.pixels(height)
        placed = _arrange(shapes, spacing, width / height)
        low, high = _extent(placed)
        span = np.maximum(high - low, 1e-6)  # a perfectly straight 1 has no width
        fit = min(height, (x1 - x0 - width) / span[0], (y1 - y0 - width) / span[1])
        if fit > 0.995 * height:
            break
        height = fit
    room = np.maximum(np.array((x1 - x0, y1 - y0)) - width - span * height, 0)
    offset = np.array((x0, y0)) + width / 2 + room * rng.beta(1.4, 1.4, 2) - low * height
    if on_lines and len(rules) > 1:
        ruling = rules[1] - rules[0]
        bottom = np.mean([points[:, 1].max() for points in placed]) * height + offset[1]
        top, end = low[1] * height + offset[1] - width / 2, high[1] * height + offset[1] + width / 2
        shifts = rules - bottom + rng.uniform(-0.2, 0.1) * ruling
        shifts = shifts[(top + shifts >= y0) & (end + shifts <= y1)]
        if len(shifts) and height < 3 * ruling:
            offset[1] += shifts[np.argmin(np.abs(shifts))]
    strokes = [(points * height + offset, glyph.edges) for points, glyph in zip(placed, sum(glyphs, []), strict=True)]
    return strokes, height, width


MARKS = ("underline", "underline", "double underline", "box", "cells", "ring", "full stop")


def _marks(
    rng: np.random.Generator, strokes: list[tuple[np.ndarray, np.ndarray]], height: float, width: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Strokes (points, edges) a writer adds around the digits, drawn by hand: an underline a little below them or
    touching them, two, a box, a row of cells with a digit in each, a ring, or a full stop after the last."""
    boxes = _boxes(strokes, width)
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)

    def line(start: tuple[float, float], end: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        t = np.linspace(0, 1, 24)[:, None]
        bow = rng.uniform(-0.02, 0.02) * height * np.sin(np.pi * t)  # a hand's line is never quite straight
        points = np.array(start) + t * (np.array(end) - np.array(start)) + np.hstack([0 * bow, bow])
        return points, np.array([[i, i + 1] for i in range(len(points) - 1)])

    def closed(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return points, np.array([[i, (i + 1) % len(points)] for i in range(len(points))])

    mark = MARKS[rng.integers(len(MARKS))]
    reach = rng.uniform(0, 0.4, 2) * height  # past the digits' ends
    if mark in ("underline", "double underline"):
        gap = rng.uniform(-0.03, 0.3) * height if mark == "underline" else rng.uniform(0.08, 0.3) * height
        y = y1 + gap + width / 2
        slope = rng.uniform(-0.03, 0.03) * (x1 - x0)
        lines = [line((x0 - reach[0], y), (x1 + reach[1], y + slope))]
        if mark == "double underline":
            lines.append(line((x0 - reach[0], y + 0.15 * height), (x1 + reach[1], y + slope + 0.15 * height)))
        return lines
    boxes.sort(key=lambda b: b[0])
    gaps = [right[0] - left[2] for left, right in zip(boxes, boxes[1:])]
    if mark == "cells" and min(gaps, default=height) < 0.1 * height + width:
        mark = "box"  # digits too close together for a wall between them
    pad = rng.uniform(0.1, 0.3) * height + width
    if mark == "box":
        return [
            closed(np.array([(x0 - pad, y0 - pad), (x1 + pad, y0 - pad), (x1 + pad, y1 + pad), (x0 - pad, y1 + pad)]))
        ]
    if mark == "cells":  # a wall half-way between neighbours
        walls = [x0 - pad] + [left[2] + gap / 2 for left, gap in zip(boxes, gaps)] + [x1 + pad]
        top, bottom = y0 - pad, y1 + rng.uniform(0.1, 0.3) * height + width
        return [line((walls[0], top), (walls[-1], top)), line((walls[0], bottom), (walls[-1], bottom))] + [
            line((x, top), (x, bottom)) for x in walls
        ]
    if mark == "ring":
        angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)[:, None]
        radii = np.array([(x1 - x0) / 2 + 0.4 * height, (y1 - y0) / 2 + 0.3 * height]) * rng.uniform(1, 1.2)
        return [closed(np.array([(x0 + x1) / 2, (y0 + y1) / 2]) + radii * np.hstack([np.cos(angles), np.sin(angles)]))]
    size = max(width, 0.06 * height)  # a full stop: a short dab on the baseline
    return [line((x1 + 0.15 * height, y1 - size / 2), (x1 + 0.15 * height + size / 2, y1 - size / 2))]


def _draw(strokes: list[tuple[np.ndarray, np.ndarray]], w: int, h: int, width: float) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    for points, edges in strokes:
        segments = np.round(points[edges] * 8).astype(np.int32)
        cv2.polylines(mask, segments, False, 255, max(1, round(width)), cv2.LINE_AA, 3)
    return mask


def _boxes(strokes: list[tuple[np.ndarray, np.ndarray]], width: float) -> list[tuple[float, float, float, float]]:
    half = width / 2
    return [(*(points.min(axis=0) - half), *(points.max(axis=0) + half)) for points, _ in strokes]


def _ink(rng: np.random.Generator, scene: np.ndarray, mask: np.ndarray, pen: Pen) -> None:
    """Put the pen's ink (mask) on the scene in place: multiplied into paper, or chalk and paint laid on top."""
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if not len(ys):
        return
    rows, columns = slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)
    h, w = ys[-1] + 1 - ys[0], xs[-1] + 1 - xs[0]
    amount = mask[rows, columns].astype(np.float32) / 255
    if pen.kind == "ballpoint":
        pressure = 0.93 + 0.08 * _smooth_noise(rng, h, w, rng.uniform(20, 80)) + 0.05 * _grain(rng, h, w)
        amount *= np.clip(pressure, 0.6, 1)
    elif pen.kind == "pencil":
        amount *= np.clip(0.75 + 0.1 * _smooth_noise(rng, h, w, 40) + 0.2 * _grain(rng, h, w), 0.2, 1)
    elif pen.kind == "chalk":
        grain = cv2.GaussianBlur(_grain(rng, h, w), (0, 0), 0.8)
        amount *= np.clip(0.75 + rng.uniform(0.6, 1.0) * grain, 0, 1)
    (_cover if pen.kind in ("chalk", "brush") else _multiply)(scene[:, rows, columns], amount, pen.colour)


def _screenshot(
    rng: np.random.Generator, rows: list[list[int]], digits: DigitSource
) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """A drawing app in dark mode: smooth light strokes on black or dark grey, maybe a palette bar; BGR."""
    w, h = SCREENSHOT_FRAMES[rng.integers(len(SCREENSHOT_FRAMES))]
    shade = rng.uniform(0, 0.04) if rng.random() < 0.5 else rng.uniform(0.07, 0.25)
    image = np.empty((3, h, w), np.float32)
    image[:] = _planes(np.clip(shade * rng.uniform(0.9, 1.1, 3), 0, 1))
    margin = 0.03 * min(w, h)
    area = [margin, margin, w - margin, h - margin]
    if rng.random() < 0.4:
        bar = round(h * rng.uniform(0.06, 0.1))
        top = rng.random() < 0.5
        (image[:, :bar] if top else image[:, h - bar :])[:] = shade + rng.uniform(0.05, 0.12)
        for i in range(int(rng.integers(3, 8))):
            centre = (round(bar * (0.8 + 1.1 * i)), bar // 2 if top else h - bar // 2)
            swatch = np.zeros((h, w), np.uint8)
            cv2.circle(swatch, centre, bar // 4, 255, -1, cv2.LINE_AA)
            _ink(rng, image, swatch, Pen("brush", 0, False, rng.uniform(0.2, 1, 3)))
        area[1 if top else 3] += bar if top else -bar
    if rng.random() < 0.6:
        colour = np.full(3, rng.uniform(0.92, 1.0))
    else:
        hsv = np.array([[[rng.uniform(0, 180), rng.uniform(150, 255), rng.uniform(220, 255)]]], np.uint8)
        colour = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0] / 255
    pen = Pen("brush", rng.uniform(0.03, 0.1), True, colour)
    height = min(w, h) * math.exp(rng.uniform(math.log(0.2), math.log(0.8)))
    strokes, height, width = _place(rng, rows, digits, tuple(area), height, pen)
    _ink(rng, image, _draw(strokes, w, h, width), pen)
    return _bgr(image * 255), _boxes(strokes, width)


# Pens and pencils lying on the page (RGB): black, blue, white and red plastic, a yellow pencil.
PEN_BODIES = ((0.12, 0.12, 0.14), (0.15, 0.22, 0.6), (0.85, 0.85, 0.88), (0.7, 0.12, 0.1), (0.92, 0.72, 0.15))


def _lay_pen(rng: np.random.Generator, scene: np.ndarray, keep_clear: list[tuple[float, ...]], height: float) -> None:
    """A pen or pencil lying on the page, in place: several digits long, a good part of one thick, at any angle,
    perhaps running off the photo, clear of the digits by a third of their height; a round body with a shine
    along it and a soft shadow beside it."""
    h, w = scene.shape[1:]
    thickness = max(4.0, rng.uniform(0.15, 0.45) * height)
    half = rng.uniform(2.5, 7) * height / 2
    margin = 0.3 * height + thickness / 2
    for _ in range(100):
        angle = rng.uniform(0, math.pi)
        centre = rng.uniform((0, 0), (w, h))
        along = np.array([math.cos(angle), math.sin(angle)])
        ends = centre - half * along, centre + half * along
        if all(_segment_distance(box, *ends) > margin for box in keep_clear):
            break
    else:
        return
    ends = [tuple(np.round(end).astype(int)) for end in ends]
    shadow = np.zeros((h, w), np.float32)
    offset = np.round(rng.uniform(0.1, 0.4) * thickness * rng.normal(size=2)).astype(int)
    cv2.line(shadow, tuple(ends[0] + offset), tuple(ends[1] + offset), 1.0, round(thickness))
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(1.0, 0.3 * thickness))
    scene *= 1 - rng.uniform(0.15, 0.4) * shadow
    body = np.array(PEN_BODIES[rng.integers(len(PEN_BODIES))]) * rng.uniform(0.8, 1.0)
    # Round: darker towards its edges, and a highlight a little off its middle.
    for share, shade in ((1.0, 0.55), (0.75, 0.8), (0.45, 1.0)):
        for channel, colour in zip(scene, body):
            cv2.line(channel, ends[0], ends[1], float(colour * shade), max(1, round(share * thickness)), cv2.LINE_AA)
    if rng.random() < 0.7:
        shine = np.round(rng.uniform(-0.2, 0.2) * thickness * np.array([-along[1], along[0]])).astype(int)
        for channel, colour in zip(scene, body):
            shade = float(min(1.0, colour + 0.5))
            cv2.line(channel, tuple(ends[0] + shine), tuple(ends[1] + shine), shade, max(1, round(0.12 * thickness)))


def _segment_distance(box: tuple[float, ...], start: np.ndarray, end: np.ndarray) -> float:
    """The distance from the segment start-end to the box (x0, y0, x1, y1): 0 when it crosses the box."""
    x0, y0, x1, y1 = box
    points = start + np.linspace(0, 1, 200)[:, None] * (end - start)
    dx = np.maximum(0, np.maximum(x0 - points[:, 0], points[:, 0] - x1))
    dy = np.maximum(0, np.maximum(y0 - points[:, 1], points[:, 1] - y1))
    return float(np.hypot(dx, dy).min())


def _surface(kind: str, rng: np.random.Generator) -> str:
    if kind == "inverted":
        return str(rng.choice(("blackboard", "screenshot", "whiteboard"), p=(0.4, 0.35, 0.25)))
    if kind == "blank" and rng.random() < 0.25:
        return "texture"
    return "paper"


def _box(box: tuple[float, float, float, float], w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x1, y1 = min(w, math.ceil(box[2])), min(h, math.ceil(box[3]))
    return x0, y0, x1 - x0, y1 - y0


def render_photo(kind: str, seed: int, digits: DigitSource) -> SyntheticPhoto:
    """One synthetic photo of `kind` (see KINDS); the same seed and source always give the same bytes."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {KINDS}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    rows = _digit_rows(kind, rng)
    text = " ".join("".join(str(d) for d in row) for row in rows)
    surface = _surface(kind, rng)
    if surface == "screenshot":
        image, boxes = _screenshot(rng, rows, digits)
        h, w = image.shape[:2]
        return SyntheticPhoto(kind, text, _encode(image), w, h, [_box(b, w, h) for b in boxes])

    w, h = FRAMES[rng.choice(len(FRAMES), p=FRAME_WEIGHTS)]
    short = min(w, h)
    # A phone held askew: the page turned 5-20 degrees either way (drawn only for this kind, so the others stay).
    tilt = float(rng.choice((-1, 1)) * rng.uniform(5, 20)) if kind == "tilted" else 0.0
    homography, area = _camera_quad(rng, w, h, tilt)
    rules = None
    if surface == "paper":
        scene, rules = _paper(rng, w, h, homography)
        pen = _paper_pen(rng, short)
    elif surface == "texture":
        scene = (_wall, _fabric, _wood, _gradient)[rng.integers(4)](rng, w, h)
    elif surface == "blackboard":
        scene = _blackboard(rng, w, h)
        chalk = ((0.9, 0.9, 0.87), (0.92, 0.88, 0.55), (0.92, 0.7, 0.75), (0.7, 0.82, 0.95))
        pen = Pen("chalk", rng.uniform(0.05, 0.1), True, np.array(chalk[rng.choice(4, p=(0.7, 0.1, 0.1, 0.1))]))
    else:
        scene = _whiteboard(rng, w, h)
        colour = np.array(INKS[rng.choice(("black", "blue", "red", "green"), p=(0.4, 0.3, 0.15, 0.15))]) * 0.8
        pen = Pen("marker", rng.uniform(0.05, 0.09), True, colour)

    strokes, marks, height, width = [], [], short, 0.0
    if rows:
        low, high = {"inverted": (0.12, 0.7), "marked": (0.05, 0.5)}.get(kind, (0.05, 0.8))
        target = short * math.exp(rng.uniform(math.log(low), math.log(high)))
        if kind == "marked":  # room around the digits for the marks
            x0, y0, x1, y1 = area
            area = (x0 + 0.12 * (x1 - x0), y0 + 0.15 * (y1 - y0), x1 - 0.12 * (x1 - x0), y1 - 0.15 * (y1 - y0))
        strokes, height, width = _place(rng, rows, digits, area, target, pen, rules, kind == "touching")
        marks = _marks(rng, strokes, height, width) if kind == "marked" else []
        strokes = [(_project(homography, points), edges) for points, edges in strokes]
        marks = [(_project(homography, points), edges) for points, edges in marks]
    boxes = _boxes(strokes, width)
    if surface == "paper":
        if rng.random() < (0.3 if kind == "blank" else 0.05):
            scene *= _crease(rng, w, h)
        if rng.random() < (0.35 if kind == "blank" else 0.25):
            _add_table(rng, scene, boxes)
    if strokes:
        _ink(rng, scene, _draw(strokes + marks, w, h, width), pen)
    if kind == "with_pen":
        _lay_pen(rng, scene, boxes, height)

    exposure = rng.uniform(1.0, 1.5) if surface == "blackboard" else rng.uniform(0.88, 1.12)
    scene *= _lighting(rng, w, h) * np.float32(255 * exposure)
    scene *= _planes(_white_balance(rng))
    if surface == "whiteboard":
        scene += _glare(rng, w, h) * np.float32(rng.uniform(40, 130))
    photo = _camera(rng, scene, min(2.0, 0.3 * width + 0.015 * height), invert=surface == "whiteboard")
    quality = int(rng.triangular(50, 88, 95))
    return SyntheticPhoto(kind, text, _encode(photo, quality), w, h, [_box(b, w, h) for b in boxes])


@functools.cache
def default_source() -> DigitSource:
    """MNIST test digits when the data is on disk (MNIST_DIR or data/), else stroke-drawn digits only."""
    from model.data import DataUnavailable, resolve_data_dir

    if (resolve_data_dir() / "MNIST" / "raw").is_dir():
        try:
            return DigitSource.from_mnist()
        except DataUnavailable:
            pass
    return DigitSource.strokes_only()


def photo_seed(seed: int, index: int) -> int:
    """The seed of the index-th photo of a batch seeded with `seed`."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def make_photos(kind: str, count: int, seed: int = 0, digits: DigitSource | None = None) -> list[SyntheticPhoto]:
    """`count` photos of `kind`; photo i is `render_photo(kind, photo_seed(seed, i), digits)`."""
    digits = digits or default_source()
    return [render_photo(kind, photo_seed(seed, index), digits) for index in range(count)]


def cropped_to_digits(photo: SyntheticPhoto, margin: float) -> SyntheticPhoto:
    """The photo cut to its digits' box and `margin` of their height around it, as a phone's editor crops, saved
    again as a JPEG of quality 90."""
    image = cv2.imdecode(np.frombuffer(photo.image, np.uint8), cv2.IMREAD_COLOR)
    left, top = min(x for x, _, _, _ in photo.boxes), min(y for _, y, _, _ in photo.boxes)
    right, bottom = max(x + w for x, _, w, _ in photo.boxes), max(y + h for _, y, _, h in photo.boxes)
    around = round(margin * (bottom - top))
    left, top = max(0, left - around), max(0, top - around)
    cut = image[top : bottom + around, left : right + around]
    return SyntheticPhoto(
        photo.kind,
        photo.text,
        cv2.imencode(".jpg", cut, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(),
        cut.shape[1],
        cut.shape[0],
        [(x - left, y - top, w, h) for x, y, w, h in photo.boxes],
    )


def score_photos(recognizer, photos: list[SyntheticPhoto]) -> dict:
    """How well `recognizer` (a preprocessing.recognize.Recognizer) reads `photos` of one kind.

    A photo is right when the text read equals the expected text, or, for blank pages, when it
    is reported as no_digit. "Confidently wrong" counts wrong answers not flagged as unsure.
    """
    results = [recognizer.recognize(photo.image) for photo in photos]
    blank = photos[0].kind == "blank"
    right = [(r.status == "no_digit") if blank else (r.text == p.text) for r, p in zip(results, photos)]
    confidently_wrong = sum(not ok and r.status == "ok" for ok, r in zip(right, results))
    unsure = sum(r.status == "unsure" for r in results)
    accuracy = sum(right) / len(photos)
    summary = f"{accuracy:.1%} right ({sum(right)}/{len(photos)})"
    if not blank:
        summary += f", {unsure} flagged unsure, {confidently_wrong} confidently wrong"
    return {
        "n": len(photos),
        "accuracy": accuracy,
        "unsure": unsure,
        "confidently_wrong": confidently_wrong,
        "summary": summary,
        "confidences": [min((d.confidence for d in r.digits), default=0.0) for r in results],
        "right": right,
        "ms": [r.ms for r in results],
    }


def training_crops(seeds: list[int], digits: DigitSource) -> tuple[np.ndarray, np.ndarray]:
    """The pipeline's 28x28 images of photos of TRAINING_KINDS and their labels, to train the model on.

    Photo i is of kind TRAINING_KINDS[i % len(TRAINING_KINDS)]. Only photos whose digits were all
    found (as many crops as digits) give crops, labelled in reading order.
    """
    images, labels = [np.zeros((0, 28, 28), np.uint8)], []
    for index, seed in enumerate(seeds):
        photo = render_photo(TRAINING_KINDS[index % len(TRAINING_KINDS)], seed, digits)
        _, crops = digit_crops(decode_image(photo.image).gray)
        expected = photo.text.replace(" ", "")
        if len(crops) == len(expected):
            images.append(crops)
            labels += [int(digit) for digit in expected]
    return np.concatenate(images), np.array(labels, np.int64)


ONE_DIGIT, NOT_ONE_DIGIT = 0, 1


def _ink_by_digit(blob: Blob, ink: Ink, boxes: list[np.ndarray]) -> np.ndarray:
    """(digits, columns): how many of the blob's ink pixels in each column lie in each digit's box and in
    no other's (where digits written into each other overlap, the ink could be either's)."""
    ys, xs = np.nonzero(blob.mask(ink.mask))
    ys, xs = ys + blob.y, xs + blob.x
    counts = np.zeros((max(len(boxes), 1), blob.w), np.int64)
    if boxes:
        holds = np.array([(xs >= x) & (xs < x + w) & (ys >= y) & (ys < y + h) for x, y, w, h in boxes])
        alone = holds.sum(axis=0) == 1
        np.add.at(counts, (holds.argmax(axis=0)[alone], xs[alone] - blob.x), 1)
    return counts


def _piece_label(ink: np.ndarray, start: int, end: int) -> int | None:
    """Whether columns start..end of a blob hold one digit, from its ink by digit (see _ink_by_digit): most
    of one digit's ink and little of another's (ONE_DIGIT), or most of none or much of two (NOT_ONE_DIGIT);
    None in between."""
    totals = ink.sum(axis=1)
    shares = sorted(ink[totals > 0, start:end].sum(axis=1) / totals[totals > 0], reverse=True)
    first, second = ([*shares, 0.0, 0.0])[:2]
    if first >= 0.85 and second <= 0.15:
        return ONE_DIGIT
    if first < 0.6 or second >= 0.4:
        return NOT_ONE_DIGIT
    return None


def piece_crops(seeds: list[int], digits: DigitSource) -> tuple[np.ndarray, np.ndarray]:
    """The 28x28 images the recognizer weighs when it cuts digits written into each other, labelled
    NOT_ONE_DIGIT (two digits run together, part of a digit, a digit with much of its neighbour) or
    ONE_DIGIT: every piece between candidate cuts of every blob found in photos of touching digits
    and of numbers (alternately), judged by whose ink it holds."""
    images, labels = [np.zeros((0, 28, 28), np.uint8)], []
    for index, seed in enumerate(seeds):
        photo = render_photo(("touching", "number")[index % 2], seed, digits)
        image = decode_image(photo.image)
        blobs, ink = find_blobs(image.gray)
        boxes = [np.array(box) / image.scale for box in photo.boxes]
        for _, blob in blobs:
            by_digit = _ink_by_digit(blob, ink, boxes)
            if not by_digit.any():
                continue
            cuts, pieces = candidate_pieces(blob, ink)
            for (i, j), part in pieces.items():
                label = _piece_label(by_digit, cuts[i], cuts[j])
                if label is not None:
                    images.append(crop(part, ink)[None])
                    labels.append(label)
    return np.concatenate(images), np.array(labels, np.int64)
