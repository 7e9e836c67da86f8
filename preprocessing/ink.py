"""Find the ink on a grayscale photo: illumination, polarity, threshold, paper lines.

The result is an "ink darkness" map (0 = paper, 255 = black, relative to the
paper around it) and a binary mask of ink pixels. Dividing
by an estimate of the paper's brightness removes gradients, vignetting and
shadows; thresholding relative to the strongest ink on the page copes with
faint ballpoint and bold marker alike.
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

MIN_INK_CONTRAST = 0.14  # darkness below this is paper texture or a faint ruled line
RELATIVE_THRESHOLD = 0.45  # ink is at least this fraction of the strongest ink on the page
LINE_SPAN = 0.45  # a straight run this long (fraction of the frame) is a paper line or page edge
LONE_LINE_SPAN = 0.8  # ... and one this long is, even alone
PIECE_SPAN = 0.1  # a piece of a line broken by the digits written across it spans at least this much
LINE_COVERAGE = 0.7  # ... and its pieces cover at least this fraction of the line
MAX_LINE_PIECES = 20  # more straight pieces in one direction than this is ruling or a texture
LINE_UNDER_INK = 1.6  # ink this many times as dark as a paper line is written over it, and kept
STRAIGHTNESS = 0.04  # a paper line bows by at most this fraction of its length
STRIP, STRIP_SPAN = 2, 0.9  # a photo 2x as long as wide is a strip; a line across it spans 0.9 of it or more
LIGHT_PAPER = 160  # a photo whose median grey is this bright is paper; darker may be either polarity
CLEAR_STROKES = 1.3  # light on dark when its brightest details outdo its darkest by this factor, or vice versa
DARK_SURFACE = 90  # without clear strokes, a photo whose median grey is below this is a board or a screen
THIN_STROKE = 9  # px at half size: strokes up to about this wide tell a dim page's ink from grain
BAR_LENGTH, BAR_STRAIGHTNESS = 0.15, 0.25  # a piece of ink this long (of the short side) and this straight ...
PEN_DARKER = 0.8  # ... is a pen lying on the page when the rest of the ink is this much fainter
PAGE_BRIGHTNESS = 0.6  # the page is at least this bright relative to the brightest paper; darker is table or floor


@dataclass(frozen=True)
class StraightPiece:
    """A straight piece of ink, fitted with a line once."""

    points: np.ndarray  # its outline, (N, 1, 2) int32 as OpenCV's contours
    direction: tuple[float, float]  # a unit vector along it
    centre: tuple[float, float]
    length: int  # the long side of its box

    @classmethod
    def of(cls, points: np.ndarray) -> "StraightPiece":
        ux, uy, x, y = cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        return cls(points, (float(ux), float(uy)), (float(x), float(y)), max(cv2.boundingRect(points)[2:]))

    def scaled(self, factor: int) -> "StraightPiece":
        x, y = self.centre
        return StraightPiece(self.points * factor, self.direction, (x * factor, y * factor), self.length * factor)


@dataclass
class Ink:
    darkness: np.ndarray  # uint8, 0 = paper, 255 = black; same size as the working image
    mask: np.ndarray  # uint8 0/255
    inverted: bool  # the photo was light ink on a dark background
    lone_lines: list[StraightPiece]  # pieces of the margins and page edges removed
    frame: np.ndarray | None = None  # uint8 0/255: where the photo is, when turned() onto a larger canvas

    def inside_photo(self) -> np.ndarray | None:
        """Where the photo is short of its edge (uint8 0/255), when turned() put it on a larger canvas; None when
        the canvas is the photo and its edge the canvas's."""
        return None if self.frame is None else cv2.erode(self.frame, np.ones((5, 5), np.uint8))

    def turned(self, degrees: float) -> tuple["Ink", np.ndarray]:
        """The ink turned `degrees` counter-clockwise onto a canvas that holds all of it, and the 3x3 transform
        from the canvas's pixels back to these. The ink is turned rather than the photo: a turned photo's
        corners would have to be filled with something, and any fill there is texture or edges to the ink finder."""
        height, width = self.mask.shape
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
        cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
        size = (math.ceil(width * cos + height * sin), math.ceil(width * sin + height * cos))
        turn[:, 2] += (size[0] - width) / 2, (size[1] - height) / 2

        def warp(image: np.ndarray) -> np.ndarray:
            return cv2.warpAffine(image, turn, size, flags=cv2.INTER_LINEAR)

        frame = np.full_like(self.mask, 255) if self.frame is None else self.frame
        lines = [
            StraightPiece.of(np.round(cv2.transform(line.points.astype(np.float32), turn)).astype(np.int32))
            for line in self.lone_lines
        ]
        turned = Ink(warp(self.darkness), _binary(warp(self.mask)), self.inverted, lines, _binary(warp(frame)))
        return turned, np.linalg.inv(np.vstack([turn, [0, 0, 1]]))


def _binary(image: np.ndarray) -> np.ndarray:
    return cv2.threshold(image, 127, 255, cv2.THRESH_BINARY)[1]


def percentiles(values: np.ndarray, qs: tuple[float, ...], where: np.ndarray | None = None) -> list[int]:
    """Percentiles of 2-D uint8 values (only where `where`, a uint8 mask, is non-zero) from one histogram.

    Many times faster than np.percentile, and the mask saves copying the selected values out.
    """
    if where is not None:
        where = np.ascontiguousarray(where)
    counts = cv2.calcHist([np.ascontiguousarray(values)], [0], where, [256], [0, 256]).ravel()
    cumulative = np.cumsum(counts)
    return [int(np.searchsorted(cumulative, q / 100 * cumulative[-1])) for q in qs]


def percentile(values: np.ndarray, q: float, where: np.ndarray | None = None) -> int:
    return percentiles(values, (q,), where)[0]


def _holds_a_page(small: np.ndarray, brightest: int) -> bool:
    """A sheet of paper on a dark table: a solid bright region (_solid_bright_region) of light paper; a dark
    wood's lighter half is none."""
    return brightest >= LIGHT_PAPER and _solid_bright_region(small, brightest) is not None


def _solid_bright_region(small: np.ndarray, brightest: int) -> np.ndarray | None:
    """A solid region a quarter of the frame wide and high or more, its brighter part (90th percentile: a sheet
    lit from one corner is dim elsewhere) as bright as the brightest in the frame (a uint8 mask), or None.
    Chalk and a drawing app's strokes are thin, and a lit patch of a blackboard is duller than the chalk on it.
    """
    bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    height, width = small.shape
    for label in range(1, count):
        _, _, w, h, area = stats[label]
        if w >= width / 4 and h >= height / 4 and area >= 0.8 * w * h:
            region = (labels == label).view(np.uint8)
            if percentile(small, 90, where=region) >= 0.85 * brightest:
                return region
    return None


def _strokes_are_light(gray: np.ndarray) -> bool | None:
    """Whether the strongest departures from the smoothed photo are bright ones (None: neither clearly).
    A shadow is smooth and drops out; strokes do not, and dark ink departs downwards, chalk upwards."""
    height, width = gray.shape
    half = cv2.resize(gray, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    # Smoothed cheaply: blurred at an eighth of the size, then brought back.
    eighth = cv2.resize(half, (half.shape[1] // 8, half.shape[0] // 8), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(eighth, (0, 0), min(eighth.shape) / 12)
    smooth = cv2.resize(blurred, half.shape[::-1], interpolation=cv2.INTER_LINEAR)
    detail = cv2.addWeighted(half, 0.5, smooth, -0.5, 128)  # (photo - smoothed) / 2, centred on 128
    darkest, brightest = percentiles(detail, (0.1, 99.9))
    if brightest - 128 > CLEAR_STROKES * (128 - darkest):
        return True
    if 128 - darkest > CLEAR_STROKES * (brightest - 128):
        return False
    return None


def _thin_strokes_are_dark(gray: np.ndarray, where: np.ndarray) -> bool:
    """Whether thin dark strokes stand out clearly more than thin light ones, only `where` (a uint8 mask of any
    size). Blind to a hard shadow's edge, which departs from the smoothed photo as much as faint ink does."""
    height, width = gray.shape
    half = cv2.resize(gray, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    where = cv2.resize(where, half.shape[::-1], interpolation=cv2.INTER_NEAREST)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (THIN_STROKE, THIN_STROKE))
    dark = percentile(cv2.morphologyEx(half, cv2.MORPH_BLACKHAT, kernel), 99.9, where)
    light = percentile(cv2.morphologyEx(half, cv2.MORPH_TOPHAT, kernel), 99.9, where)
    return dark > CLEAR_STROKES * light


def is_light_on_dark(gray: np.ndarray) -> bool:
    """A blackboard or a drawing app: mostly dark, with light strokes, and not a sheet of paper on a table."""
    small = np.ascontiguousarray(gray[::4, ::4])
    median, high = percentiles(small, (50, 99.5))
    if median >= LIGHT_PAPER:
        return False
    # Below that, a dim page (a room's evening light) and a board the camera exposed brighter, often with a
    # shadow across it, can have the same grey levels: their strokes tell. Grain alone does not.
    light = _strokes_are_light(gray)
    if light is None:
        # Unclear: grain alone, or a dim page's faint ink beside a hard shadow's edge. A dark photo is a board or a
        # screen, unless it holds a page: light paper (as _holds_a_page), or a dim page with thin dark strokes on it.
        if median >= DARK_SURFACE:
            return False
        page = _solid_bright_region(small, high)
        return page is None or (high < LIGHT_PAPER and not _thin_strokes_are_dark(gray, page))
    return light and not _holds_a_page(small, high)


def paper_closing(shape: tuple[int, int]) -> int:
    """The paper estimate's closing width for a photo of this (height, width), in quarter-size pixels:
    a twelfth of the short side, odd."""
    return max(5, (min(shape) // 4 // 12) | 1)


def paper_brightness(gray: np.ndarray, closing: int | None = None) -> np.ndarray:
    """Estimate the paper without the ink: a grey-level closing at 1/4 size, then smoothed.

    Closing removes dark strokes thinner than the kernel but keeps dark regions
    larger than it (a shadow), so dividing by it flattens shadows instead of
    turning their edges into ink. `closing` (quarter-size pixels) defaults to
    `paper_closing(gray.shape)`; a part of a photo takes the whole photo's.
    """
    height, width = gray.shape
    small = cv2.resize(gray, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
    size = closing or paper_closing(gray.shape)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    background = cv2.blur(background, (3, 3))
    return cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)


def page_region(paper: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Where the photo shows the page (0/255, `size` as width, height): bright paper, away from its edges.

    Judged at a quarter of the working size: the paper estimate is that smooth anyway.
    """
    bright = np.ascontiguousarray(paper[::4, ::4])
    page = cv2.threshold(bright, PAGE_BRIGHTNESS * percentile(bright, 95), 255, cv2.THRESH_BINARY)[1]
    page = cv2.erode(page, np.ones((5, 5), np.uint8))
    return cv2.resize(page, size, interpolation=cv2.INTER_NEAREST)


def is_straight(points: np.ndarray, bow: float, at_least: float = 0.0) -> bool:
    """The tightest turned box around it is at most `bow` x its length wide (or `at_least` px): a line,
    perhaps tilted, not a curve."""
    _, sides, _ = cv2.minAreaRect(points)
    return min(sides) <= max(at_least, bow * max(sides))


Coordinate = float | np.ndarray  # one point's, or many points' at once


def along_and_across(
    x: Coordinate, y: Coordinate, direction: tuple[float, float], centre: tuple[float, float]
) -> tuple[Coordinate, Coordinate]:
    """Where the point (x, y) lies along the line through `centre` in `direction` (a unit vector), and how far to
    its side (signed). Plain numbers or arrays of them alike: on_one_line's pairs are many, and arrays cost there."""
    (ux, uy), dx, dy = direction, x - centre[0], y - centre[1]
    return dx * ux + dy * uy, dx * uy - dy * ux


def on_one_line(a: StraightPiece, b: StraightPiece) -> bool:
    """Two straight pieces end to end along one line: a line broken into pieces."""
    if a.length < b.length:  # the longer piece's direction is the surer
        a, b = b, a
    (ux, uy), (vx, vy) = a.direction, b.direction
    if abs(ux * vx + uy * vy) < math.cos(math.radians(5)):  # not parallel
        return False
    along, across = along_and_across(*b.centre, a.direction, a.centre)
    along, across = abs(along), abs(across)
    # Apart along the line (not side by side, as in "11"; their ends may overlap a little), and on it
    # within a pixel or two.
    return along > 0.4 * (a.length + b.length) and across < max(2.0, 0.02 * along)


def _pieces_of_lines(pieces: list[StraightPiece]) -> list[list[StraightPiece]]:
    """Straight pieces grouped into the lines they lie on, longest first."""
    lines: list[list[StraightPiece]] = []
    for piece in sorted(pieces, key=lambda piece: -piece.length):
        line = next((line for line in lines if any(on_one_line(part, piece) for part in line)), None)
        if line is None:
            lines.append([piece])
        else:
            line.append(piece)
    return lines


def _long_thin_runs(half: np.ndarray, horizontal: bool) -> tuple[np.ndarray, list[StraightPiece]]:
    """Straight thin runs that look like paper ruling: very long, or long and several alike.

    Also returns the pieces of the lines found alone (margins, page edges).
    """
    across = cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5) if horizontal else (5, 1))
    thin = half & ~cv2.morphologyEx(half, cv2.MORPH_OPEN, across)
    extent = half.shape[1 if horizontal else 0]
    length = max(6, extent // 32)  # short, because lines tilted by the camera break into short runs
    along = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if horizontal else (1, length))
    runs = cv2.morphologyEx(thin, cv2.MORPH_OPEN, along)
    lines = np.zeros_like(half)
    if not runs.any():
        return lines, []
    # Measured across small gaps: squared paper's lines cut each other at every crossing, and a tilted
    # line's runs step sideways a pixel at a time.
    bridge = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 3) if horizontal else (3, 7))
    contours, _ = cv2.findContours(cv2.dilate(runs, bridge), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)

    # In a strip (a crop around a row of digits, or tight around a 1) the digits' strokes span most of its width,
    # and a 1 most of its length, and the bridge's 6 px are much: there, lengths are measured without them, and
    # ruling across it and a margin along it run from edge to edge.
    across_strip = half.shape[0 if horizontal else 1] >= STRIP * extent
    along_strip = extent >= STRIP * half.shape[0 if horizontal else 1]
    growth = max(bridge.shape) - 1 if across_strip or along_strip else 0
    lone_span = STRIP_SPAN if along_strip else LONE_LINE_SPAN

    def span(points: np.ndarray) -> float:
        return (cv2.boundingRect(points)[2 if horizontal else 3] - growth) / extent

    # Straight, as ruling is in any perspective: the side of a big 0 is as long, but bows. A short piece may be
    # 5 px wide and straight: the bridge widens a line by 2 px, and a tilted wide line's steps by more.
    pieces = [c for c in contours if span(c) >= PIECE_SPAN and is_straight(c, STRAIGHTNESS, at_least=5.0)]
    # Ruling comes in families; one long stroke alone (the stem of a big 4) is handwriting.
    family = [c for c in pieces if span(c) >= (STRIP_SPAN if across_strip else LINE_SPAN)]
    if len(family) >= 3:
        # With the pieces a digit broke off one of the lines, at the photo's edge (on one line with it).
        whole = [StraightPiece.of(c) for c in family]
        short = [StraightPiece.of(c) for c in pieces if span(c) < LINE_SPAN]
        broken_off = [piece.points for piece in short if any(on_one_line(piece, line) for line in whole)]
        cv2.drawContours(lines, family + broken_off, -1, 1, thickness=-1)
        return lines & runs, []
    # A line alone (a margin, a page edge) crosses most of the frame. Digits written across it break it
    # into pieces on one line, which cover most of it (unlike the bases of digits on one baseline).
    alone = []
    if len(pieces) <= MAX_LINE_PIECES:  # more is a texture or ruling, not a line alone
        for line in _pieces_of_lines([StraightPiece.of(c) for c in pieces]):
            whole = span(np.concatenate([piece.points for piece in line]))
            if whole >= lone_span and sum(span(piece.points) for piece in line) >= LINE_COVERAGE * whole:
                alone.append(line)
    if len(alone) >= 3 or len(pieces) > MAX_LINE_PIECES:  # ruling too broken to be sure of: only whole lines
        alone = [[StraightPiece.of(c)] for c in pieces if span(c) >= lone_span]
    lone = [piece for line in alone for piece in line]
    cv2.drawContours(lines, [piece.points for piece in lone], -1, 1, thickness=-1)
    return lines & runs, lone


def remove_paper_lines(
    mask: np.ndarray, darkness: np.ndarray, threshold: float
) -> tuple[np.ndarray, list[StraightPiece]]:
    """Remove ruled and squared paper lines and page edges from the ink mask, keeping ink drawn over them.

    Returns the mask and the pieces of the lines found alone (margins, page edges).

    Lines are looked for at half the ink threshold: where faint squared lines cross, the crossing is
    darker than either line and would otherwise stay behind as a lattice of specks. Found on a
    half-size image, where the long openings cost a quarter as much.
    """
    height, width = mask.shape
    half = cv2.resize(darkness, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    half = cv2.threshold(half, math.ceil(0.5 * threshold) - 1, 1, cv2.THRESH_BINARY)[1]  # half >= 0.5 x threshold
    (across, lone_across), (down, lone_down) = (_long_thin_runs(half, horizontal) for horizontal in (True, False))
    lines, lone = across | down, [piece.scaled(2) for piece in lone_across + lone_down]  # in full-size pixels
    if not lines.any():
        return mask, lone
    # Back to full size, a pixel wider to take the line's anti-aliased edges too.
    lines = cv2.dilate(
        cv2.resize(lines * 255, (width, height), interpolation=cv2.INTER_NEAREST), np.ones((3, 3), np.uint8)
    )
    line_ink = cv2.threshold(darkness, 0.5 * threshold, 255, cv2.THRESH_BINARY)[1] & lines
    line_darkness = percentile(darkness, 50, where=line_ink)
    # Ink written over a line is clearly darker than the line alone: keep it. Relative to the line only: a faint
    # ballpoint running along faint squared paper's line is some 2.5 times as dark, and a margin of 50 grey
    # levels on top had cut its digit apart there. Where two faint lines cross, the crossing may stay as a speck.
    keep_above = math.ceil(LINE_UNDER_INK * line_darkness) - 1
    faint = cv2.threshold(darkness, keep_above, 255, cv2.THRESH_BINARY_INV)[1]
    return mask & ~(lines & faint), lone


def _long_straight_pieces(ink: np.ndarray) -> np.ndarray | None:
    """Pieces of ink (uint8 0/255) as long as BAR_LENGTH of the short side and straight, grown by a pixel;
    None when there are none."""
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    length = BAR_LENGTH * min(ink.shape)
    bars = [c for c in contours if max(cv2.boundingRect(c)[2:]) >= length and is_straight(c, BAR_STRAIGHTNESS)]
    if not bars:
        return None
    drawn = cv2.drawContours(np.zeros_like(ink), bars, -1, 255, thickness=-1)
    return cv2.dilate(drawn, np.ones((3, 3), np.uint8))


def find_ink(gray: np.ndarray, closing: int | None = None) -> Ink:
    """`closing`: the paper estimate's, see paper_brightness; give the whole photo's when `gray` is a part of it."""
    inverted = is_light_on_dark(gray)
    if inverted:
        gray = 255 - gray
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    # 255 * (1 - pixel / paper), saturating: paper brighter than its estimate is simply paper.
    paper = paper_brightness(smooth, closing)
    darkness = 255 - cv2.divide(smooth, paper, scale=255)
    # The strongest ink on the page sets the threshold: the dark line along a page edge would set it
    # so high that a faint ballpoint digit falls apart. Off the page (a table, the floor) the photo's
    # strongest ink sets it, so wood grain and the page edge itself stay out.
    sample = np.ascontiguousarray(darkness[::2, ::2])
    strongest = percentile(sample, 99.95)
    page = page_region(paper, sample.shape[::-1])
    # Measured away from the frame's edges too: a strip of table thinner than the paper estimate's
    # kernel passes for paper, and its edge for ink.
    edge = max(1, min(page.shape) // 16)
    inner = np.zeros_like(page)
    inner[edge:-edge, edge:-edge] = page[edge:-edge, edge:-edge]
    strongest_on_page = percentile(sample, 99.95, where=inner) if inner.any() else strongest
    threshold = max(MIN_INK_CONTRAST * 255, RELATIVE_THRESHOLD * strongest_on_page)
    # A pen lying on the page is darker than faint writing beside it: the writing's own strongest ink sets the
    # threshold then, measured without long straight pieces, when those were what was darkest and the rest is
    # writing, strong enough to set a threshold above MIN_INK_CONTRAST (a lone 1's rest is paper). The pieces are
    # looked for on the whole page, its edges included: a pen running off the photo lies mostly near them.
    bars = _long_straight_pieces(cv2.threshold(sample, threshold, 255, cv2.THRESH_BINARY)[1] & page)
    if bars is not None:
        strongest_writing = percentile(sample, 99.95, where=inner & ~bars)
        if MIN_INK_CONTRAST * 255 < RELATIVE_THRESHOLD * strongest_writing < PEN_DARKER * threshold:
            threshold = RELATIVE_THRESHOLD * strongest_writing
    mask = cv2.threshold(darkness, threshold, 255, cv2.THRESH_BINARY)[1]
    off_page_threshold = RELATIVE_THRESHOLD * strongest
    if off_page_threshold > threshold:
        on_page = cv2.resize(page, mask.shape[::-1], interpolation=cv2.INTER_NEAREST)
        mask &= cv2.threshold(darkness, off_page_threshold, 255, cv2.THRESH_BINARY)[1] | on_page
    mask, lone_lines = remove_paper_lines(mask, darkness, threshold)
    return Ink(darkness, mask, inverted, lone_lines)
