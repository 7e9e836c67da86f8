"""Seeded synthetic phone photos of handwritten digits, to measure and tune the photo pipeline.

`render_photo(kind, seed, digits)` builds one photo the way a phone sees a sheet of handwriting: a scene
(paper with rules or a grid, a table beyond the page edge, a blackboard, a drawing-app screenshot...),
digits from a `DigitSource` drawn with a random pen and multiplied into the paper, then lighting
(gradient, vignetting, shadows, white balance) and camera effects (perspective, blur, noise, JPEG).

Every glyph is a stroke graph (points joined by edges, units of digit height) redrawn at the pen's width,
so MNIST digits can be written with a 2 px ballpoint as well as a marker. All randomness comes from one
numpy Generator per photo: the same seed always gives the same bytes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

KINDS = ("single", "number", "two_rows", "blank", "inverted")

# (width, height) and how often phones/Telegram give them.
FRAMES = ((1280, 960), (960, 1280), (1600, 1200), (800, 600), (1280, 720))
FRAME_WEIGHTS = (0.4, 0.4, 0.07, 0.07, 0.06)
SCREENSHOT_FRAMES = ((960, 1280), (720, 1280), (591, 1280), (1280, 960), (1080, 1080))

MNIST_STROKE_SHARE = 0.18  # share of stroke-drawn digits mixed into an MNIST-backed source

# Colours are RGB reflectances in [0, 1]; inks are what they look like on white paper.
PAPERS = {
    "white": (0.96, 0.96, 0.95),
    "cream": (0.96, 0.93, 0.85),
    "grey": (0.87, 0.87, 0.85),
    "yellow": (0.98, 0.93, 0.55),
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


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean mask to a one-pixel-wide skeleton."""
    img = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in range(2):
            p2, p3, p4, p5 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:], img[2:, 2:]
            p6, p7, p8, p9 = img[2:, 1:-1], img[2:, :-2], img[1:-1, :-2], img[:-2, :-2]
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            neighbours = sum(ring[:8])
            transitions = sum((ring[i] == 0) & (ring[i + 1] == 1) for i in range(8))
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (img[1:-1, 1:-1] == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if remove.any():
                img[1:-1, 1:-1][remove] = 0
                changed = True
    return img[1:-1, 1:-1].astype(bool)


def _normalise(points: np.ndarray, edges: np.ndarray) -> Glyph:
    points = points - points.min(axis=0)
    return Glyph((points / max(float(points[:, 1].max()), 1e-6)).astype(np.float32), edges.astype(np.int32))


def _skeleton_glyph(mask: np.ndarray, smoothing: int = 3) -> Glyph:
    """The stroke graph of a binary shape: its skeleton pixels joined to their 8-neighbours, then smoothed."""
    skeleton = np.pad(_thin(mask), 1)
    ys, xs = np.nonzero(skeleton)
    index = np.full(skeleton.shape, -1, np.int64)
    index[ys, xs] = np.arange(len(ys))
    edges = []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        neighbour = index[ys + dy, xs + dx]
        found = neighbour >= 0
        edges.append(np.stack([np.nonzero(found)[0], neighbour[found]], axis=1))
    edges = np.concatenate(edges)
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    degree = np.bincount(edges.ravel(), minlength=len(points))
    movable = degree > 1  # stroke ends stay put so smoothing does not shorten strokes
    for _ in range(smoothing):
        total = points.copy()
        np.add.at(total, edges[:, 0], points[edges[:, 1]])
        np.add.at(total, edges[:, 1], points[edges[:, 0]])
        points[movable] = (total / (degree + 1)[:, None])[movable]
    return _normalise(points, edges)


def _mnist_glyph(image: np.ndarray) -> Glyph:
    """Skeleton graph of a 28x28 MNIST digit, traced at 4x so curves stay smooth."""
    big = cv2.resize(image, (112, 112), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), 1.5)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((big > 110).astype(np.uint8))
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.nonzero(areas >= 0.08 * areas.max())[0]
    return _skeleton_glyph(np.isin(labels, keep))


def _catmull_rom(points: np.ndarray, samples: int = 8) -> np.ndarray:
    padded = np.concatenate([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    pieces = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        pieces.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
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

    def __init__(self, images: np.ndarray | None = None, labels: np.ndarray | None = None, stroke_share: float = 1.0):
        self.stroke_share = stroke_share if images is not None else 1.0
        self._images = images
        self._by_label = [np.nonzero(labels == d)[0] for d in range(10)] if labels is not None else []
        self._cache: dict[tuple, Glyph] = {}

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
        if rng.random() >= self.stroke_share:
            return self._cached(("mnist", int(rng.choice(self._by_label[label]))))
        if label != 0 and rng.random() < 0.35:  # Hershey zeros are slashed
            return self._cached(("hershey", label, int(rng.choice(HERSHEY_FONTS))))
        return _template_glyph(label, rng)

    def _cached(self, key: tuple) -> Glyph:
        if key not in self._cache:
            self._cache[key] = _mnist_glyph(self._images[key[1]]) if key[0] == "mnist" else _hershey_glyph(*key[1:])
        return self._cache[key]
