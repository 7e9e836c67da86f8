"""Turn one digit's ink into a 28x28 image made the way MNIST's were.

MNIST: the digit fits a 20x20 box keeping its aspect ratio, grey levels come
from anti-aliasing, and its centre of mass sits at the centre of a 28x28 field
(pixel (14, 14), measured on the MNIST test set). We also bring the stroke to
MNIST's width (median 2.2 px in the 28x28 image): a ballpoint digit shot at
1000 px would otherwise shrink to a hairline, and a marker digit to a blob.
"""

import cv2
import numpy as np

BOX = 20
FIELD = 28
CENTRE = 14.0
SUPERSAMPLE = 4  # draw at 4x, then area-average down: anti-aliased like MNIST
TARGET_STROKE = 2.3 * SUPERSAMPLE


def stroke_width(binary: np.ndarray) -> float:
    """Mean stroke width of a binary shape: 2 x area / perimeter (a stroke of length L has perimeter ~2L)."""
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(np.count_nonzero(binary)) / max(perimeter, 1.0)


def normalise_thickness(binary: np.ndarray, width: float, target: float = TARGET_STROKE) -> np.ndarray:
    """Dilate strokes thinner than the target up to it; thin bold strokes part of the way down."""
    if width < target - 1:
        size = int(round(target - width)) + 1
        return cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    if width > 1.3 * target:
        # Erode only part of the way: strong erosion breaks the thin joins of a marker digit.
        size = int(round(0.6 * (width - target))) + 1
        eroded = cv2.erode(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
        return eroded if np.count_nonzero(eroded) > 0.3 * np.count_nonzero(binary) else binary
    return binary


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place a (h <= 20, w <= 20) float image into 28x28 with its centre of mass at (14, 14)."""
    rows, columns = digit.sum(axis=1, dtype=np.float64), digit.sum(axis=0, dtype=np.float64)
    total = float(rows.sum())
    cy = float(rows @ np.arange(len(rows))) / total if total else digit.shape[0] / 2
    cx = float(columns @ np.arange(len(columns))) / total if total else digit.shape[1] / 2
    shift = np.float32([[1, 0, CENTRE - cx], [0, 1, CENTRE - cy]])
    return cv2.warpAffine(digit, shift, (FIELD, FIELD), flags=cv2.INTER_LINEAR, borderValue=0)


def mnist_style(ink: np.ndarray) -> np.ndarray:
    """A digit's ink strength (float in [0, 1], tight crop) -> 28x28 uint8, white on black."""
    height, width = ink.shape
    native_width = stroke_width((ink > 0.5).astype(np.uint8))
    scale = SUPERSAMPLE * BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    big = cv2.resize(ink, size, interpolation=cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA)
    stroke = native_width * scale
    if stroke < 2:
        # A hairline once shrunk: area averaging leaves it faint, so keep every pixel it crosses.
        binary = (big > 0.25 * max(float(big.max()), 1e-3)).astype(np.uint8)
        stroke = max(stroke, 1.0)
    else:
        binary = (big > 0.5).astype(np.uint8)
    binary = normalise_thickness(binary, stroke)
    if not binary.any():  # no pixel strong enough once resampled: nothing to draw
        return np.zeros((FIELD, FIELD), np.uint8)
    # Re-crop: thickening grows the shape, and the 20x20 box must hold it whole.
    x, y, width, height = cv2.boundingRect(binary)
    binary = binary[y : y + height, x : x + width]
    scale = BOX / max(height, width)
    small = cv2.resize(
        binary.astype(np.float32),
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    field = centre_by_mass(small)
    return np.clip(field * 255 + 0.5, 0, 255).astype(np.uint8)
