"""Find the ink on a grayscale photo: illumination, polarity, threshold, paper lines.

The result is an "ink darkness" map in [0, 1] (0 = paper, 1 = as dark as ink
gets relative to the paper around it) and a binary mask of ink pixels. Dividing
by an estimate of the paper's brightness removes gradients, vignetting and
shadows; thresholding relative to the strongest ink in the photo copes with
faint ballpoint and bold marker alike.
"""

from dataclasses import dataclass

import cv2
import numpy as np

MIN_INK_CONTRAST = 0.14  # darkness below this is paper texture or a faint ruled line
RELATIVE_THRESHOLD = 0.45  # ink is at least this fraction of the photo's strongest ink
LINE_SPAN = 0.45  # a straight run this long (fraction of the frame) is a paper line or page edge


@dataclass
class Ink:
    darkness: np.ndarray  # float32 in [0, 1], same size as the working image
    mask: np.ndarray  # uint8 0/255
    inverted: bool  # the photo was light ink on a dark background


def is_light_on_dark(gray: np.ndarray) -> bool:
    """A blackboard or a drawing app: mostly dark, with a bright minority."""
    low, median, high = np.percentile(gray[::4, ::4], [0.5, 50, 99.5])
    if median < 90:
        return True
    return median < 140 and (high - median) > 1.5 * (median - low)


def paper_brightness(gray: np.ndarray) -> np.ndarray:
    """Estimate the paper without the ink: a grey-level closing at 1/4 size, then smoothed.

    Closing removes dark strokes thinner than the kernel but keeps dark regions
    larger than it (a shadow), so dividing by it flattens shadows instead of
    turning their edges into ink.
    """
    height, width = gray.shape
    small = cv2.resize(gray, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
    size = max(5, (min(small.shape) // 12) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    background = cv2.blur(background, (3, 3))
    return cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)


def remove_paper_lines(mask: np.ndarray) -> np.ndarray:
    """Remove long straight horizontal and vertical runs: ruled lines, squares, page edges."""
    height, width = mask.shape
    lines = np.zeros_like(mask)
    for length, shape in ((max(15, width // 16), (1, 0)), (max(15, height // 16), (0, 1))):
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if shape == (1, 0) else (1, length))
        runs = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
        span = stats[:, cv2.CC_STAT_WIDTH] if shape == (1, 0) else stats[:, cv2.CC_STAT_HEIGHT]
        limit = LINE_SPAN * (width if shape == (1, 0) else height)
        long_ids = np.flatnonzero(span[1:] >= limit) + 1
        if len(long_ids):
            lines |= np.isin(labels, long_ids).astype(np.uint8) * 255
    if not lines.any():
        return mask
    # Widen by a pixel to take the line's anti-aliased edges too.
    lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    return cv2.bitwise_and(mask, cv2.bitwise_not(lines))


def find_ink(gray: np.ndarray) -> Ink:
    inverted = is_light_on_dark(gray)
    if inverted:
        gray = 255 - gray
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    background = paper_brightness(smooth).astype(np.float32)
    darkness = 1.0 - smooth.astype(np.float32) / np.maximum(background, 1.0)
    np.clip(darkness, 0.0, 1.0, out=darkness)
    strongest = float(np.percentile(darkness[::2, ::2], 99.8))
    threshold = max(MIN_INK_CONTRAST, RELATIVE_THRESHOLD * strongest)
    mask = (darkness > threshold).astype(np.uint8) * 255
    mask = remove_paper_lines(mask)
    return Ink(darkness, mask, inverted)
