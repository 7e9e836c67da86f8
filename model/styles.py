"""Ways of writing digits that MNIST lacks, drawn onto a share of its training digits.

MNIST's writers were American: their 1s are bare strokes and their 7s are not crossed. Much of the
world writes a 1 with a flag at the top, often with a foot, which a model trained on MNIST alone reads
as a 7 (or, with the foot, a 2), and crosses its 7s. Applied once to the training split, never to
validation, so validation stays plain MNIST.
"""

import math

import cv2
import numpy as np
import torch

FLAGGED_ONES = 0.5  # share of the 1s given a flag
FOOTED_ONES = 0.5  # share of the flagged 1s that also get a foot
CROSSED_SEVENS = 0.25
SUPERSAMPLE = 4  # strokes are drawn at 4x and area-averaged down, anti-aliased like MNIST's


def _point_at(ink: np.ndarray, row: int) -> tuple[float, float]:
    """The middle of the ink on `row` (x, y)."""
    return float(np.flatnonzero(ink[row]).mean()), float(row)


def _stroke_width(ink: np.ndarray) -> float:
    """About the pen's width in pixels: ink area over the length of a stroke as long as the box is wide plus high."""
    ys, xs = np.nonzero(ink)
    return float(np.clip(len(ys) / (np.ptp(ys) + np.ptp(xs) + 2), 1.5, 3.5))


def _draw_lines(
    image: np.ndarray, lines: list[tuple[tuple[float, float], tuple[float, float]]], width: float
) -> np.ndarray:
    """`image` (28x28 uint8) with straight strokes added, each from one (x, y) to another."""
    size = image.shape[0] * SUPERSAMPLE
    canvas = np.zeros((size, size), np.uint8)
    for start, end in lines:
        points = [tuple(round((v + 0.5) * SUPERSAMPLE) for v in p) for p in (start, end)]
        cv2.line(canvas, points[0], points[1], 255, max(1, round(width * SUPERSAMPLE)), cv2.LINE_AA)
    strokes = cv2.resize(canvas, image.shape[::-1], interpolation=cv2.INTER_AREA)
    return np.maximum(image, strokes)


def flag_one(image: np.ndarray, rng: np.random.Generator, foot: bool) -> np.ndarray:
    """A 1 with a flag from its top down to the left, and a horizontal foot when `foot`."""
    ink = image > 127
    rows = np.flatnonzero(ink.any(axis=1))
    if len(rows) < 8:
        return image
    height = rows[-1] - rows[0] + 1
    top, bottom = _point_at(ink, rows[0]), _point_at(ink, rows[-1])
    length, angle = height * rng.uniform(0.25, 0.45), math.radians(rng.uniform(20, 50))
    lines = [(top, (top[0] - length * math.cos(angle), top[1] + length * math.sin(angle)))]
    if foot:
        half = height * rng.uniform(0.15, 0.3)
        lines.append(((bottom[0] - half, bottom[1]), (bottom[0] + half, bottom[1])))
    return _draw_lines(image, lines, _stroke_width(ink))


def cross_seven(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 7 with a short bar across its stem, a little below half its height."""
    ink = image > 127
    rows = np.flatnonzero(ink.any(axis=1))
    if len(rows) < 8:
        return image
    row = rows[0] + round((rows[-1] - rows[0]) * rng.uniform(0.45, 0.6))
    if not ink[row].any():
        return image
    x, y = _point_at(ink, row)
    half, tilt = (rows[-1] - rows[0]) * rng.uniform(0.15, 0.25), rng.uniform(-0.1, 0.1)
    return _draw_lines(image, [((x - half, y + half * tilt), (x + half, y - half * tilt))], _stroke_width(ink))


def with_writing_styles(images: torch.Tensor, labels: torch.Tensor, seed: int) -> torch.Tensor:
    """(N, 28, 28) uint8 digits with a share of the 1s flagged (some footed) and of the 7s crossed."""
    rng = np.random.default_rng(seed)
    styled = images.numpy().copy()
    for index in np.flatnonzero(labels.numpy() == 1):
        if rng.random() < FLAGGED_ONES:
            styled[index] = flag_one(styled[index], rng, foot=rng.random() < FOOTED_ONES)
    for index in np.flatnonzero(labels.numpy() == 7):
        if rng.random() < CROSSED_SEVENS:
            styled[index] = cross_seven(styled[index], rng)
    return torch.from_numpy(styled)
