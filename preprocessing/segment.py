"""Group ink into digits and put the digits in reading order.

Pieces of ink are found as outer contours (several times faster than labelling
connected components on a mostly empty page). Pieces that overlap horizontally
and nearly touch are one digit: the flag of a 5, a 4 drawn in two strokes, a
ballpoint stroke that skipped. Digits written close together, which the grown
ink joins, are split again where their ink itself is apart, between loops side
by side, or at a thin neck.
"""

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from preprocessing.ink import (
    BAR_STRAIGHTNESS,
    Ink,
    StraightPiece,
    along_and_across,
    is_straight,
    on_one_line,
    percentile,
)

MIN_DIGIT_HEIGHT_FRACTION = 0.025  # of the working image's short side; smaller is a speck
MAX_DIGIT_HEIGHT_FRACTION = 0.95  # of the image's height: a portrait photo's digit may be taller than it is wide
MIN_PEAK_DARKNESS = 0.2  # a digit has some properly dark ink, not only faint texture
# Light on dark with a clean background (its texture under CLEAN_CANVAS x the stroke's strength: a drawing
# app's canvas, a wiped board, not wood grain), a dim grey pen is ink too, down to MIN_PEAK_LIGHTNESS.
MIN_PEAK_LIGHTNESS = 0.15
CLEAN_CANVAS = 0.1
MAX_CLUTTER = 0.4  # the paper around a digit is much lighter than its ink
MAX_PIECES = 1500  # more pieces of ink than this is a texture (fabric, gravel), not handwriting
# Digits written close together are a few pieces each (a skipping pen: tens): a blob of more is speckle or texture,
# left whole rather than grouped again, which takes long there.
MAX_SEPARATE_PIECES = 300
MAX_DIGITS = 24  # more candidates than this is a page of text, not a number
# Neighbours in writing_slope: at most this many digit heights apart, centre to centre, and at most this steep
# (tan 30 degrees): the digit below in a second row is not a neighbour.
NEIGHBOUR_REACH = 2.5
MAX_SLOPE = 0.58
STRAIGHT_STROKE = 0.15  # a piece no wider than this fraction of its length, at any angle, is a straight stroke
# A pen lying on the page is one piece of ink, or two or three (its edges apart where it shines); a texture's
# grown pieces, which would take long to measure, have many.
MAX_PEN_PIECES = 3
# A blob less tall than FLAT x its width lies flat: a dash, an underline, or a 5, 2 or 0 written wide, which is
# a digit only on a line beside another as tall (heights within SAME_HEIGHT x, sharing ON_ITS_LINE of the
# lower's height, apart by at most BESIDE x the digit's height). Flatter than FLATTEST_DIGIT it is never one.
FLAT = 0.45
FLATTEST_DIGIT = 0.3
SAME_HEIGHT = 4 / 3
ON_ITS_LINE = 0.7
BESIDE = 0.6
# A flat blob at most FLAT_BAR x its length wide, at its own angle (is_straight), is a bar (a pen: a thick one 2.5 digit
# heights long and 0.45 of one thick is 0.18), not a digit written wide (the flattest on the development photos: 0.245).
FLAT_BAR = 0.2
SOFT_EDGES = 0.12  # ink's darkness rises by this share of its peak per pixel or more at a quarter of its outline
SHADOW_HALF_WIDTH = 3  # px: a pen's shadow is at least this wide on either side of its middle (area / outline)
# A shadow darker than this (darkness 0.6 x 255) is a pen's, a bar (BAR_STRAIGHTNESS): a dark stroke of another
# shape with soft edges is a marker's digit, blurred by the photo's focus (filling the frame, it had been none).
SHADOW_DARKNESS = 153
ENCLOSED = 0.03  # a blot enclosing paper this share of its outline or more is a bold digit with loops
STACKED_REACH = 0.25  # a piece joins one above or below it across a gap under this share of the taller's height
# A flat piece below a digit at least UNDERLINE_WIDER x its width and UNDERLINE_LONG x its height is an underline,
# even close under it: a 2's base drawn apart is about as wide as the 2, a 1's foot far shorter than the 1.
UNDERLINE_WIDER = 1.2
UNDERLINE_LONG = 0.8
WALL_PAST = 0.08  # a cell's wall reaches past the digits beside it by this share of their height, above and below
SIDE_BY_SIDE_OVERLAP = 0.6  # two pieces at the same height overlapping this share of the narrower's width are one
LONE_HALVES_GAP = 0.1  # two pieces alone, stacked closer than this share of the taller's height, are one digit
SPECK = 0.08  # a piece of a digit under this share of its height both ways, and apart from its strokes, is a speck
PAGE_RIM = 15  # px of a sheet's outline erased: the paper estimate's blur leaves a rim of "ink" around it
# The bits of a page edge or margin beyond its ends lie within this many px of its line (a pixel or two, and the
# grown ink's half width), each at most MAX_EDGE_GAP of the short side past the one before.
EDGE_REACH = 5.0
MAX_EDGE_GAP = 0.1


@dataclass
class Blob:
    """One digit candidate: a box around one or more pieces of ink (outer contours)."""

    x: int
    y: int
    w: int
    h: int
    contours: list[np.ndarray] = field(default_factory=list, repr=False)
    blot: bool = False  # solid ink, kept only for a closer look to judge (find_digits' keep_blots_below)
    cut_from: "Blob | None" = field(default=None, repr=False)  # the blob cut at thin necks into this and others

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def right(self) -> int:
        return self.x + self.w

    def merged(self, other: "Blob") -> "Blob":
        x, y = min(self.x, other.x), min(self.y, other.y)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return Blob(x, y, right - x, bottom - y, self.contours + other.contours)

    def inside(self) -> np.ndarray:
        """Its outlines filled (0/1) in its box: its ink and the paper they enclose."""
        inside = np.zeros((self.h, self.w), np.uint8)
        cv2.drawContours(inside, self.contours, -1, 1, thickness=-1, offset=(-self.x, -self.y))
        return inside

    def mask(self, ink_mask: np.ndarray) -> np.ndarray:
        """This blob's ink pixels (0/1) inside its box; a neighbour's ink reaching into the box is left out."""
        return self.inside() & (ink_mask[self.y : self.bottom, self.x : self.right] > 0)


def _x_overlap(a: Blob, b: Blob) -> int:
    """How far two boxes overlap side to side; negative, the gap between them."""
    return min(a.right, b.right) - max(a.x, b.x)


def _y_overlap(a: Blob, b: Blob) -> int:
    """How far two boxes overlap up and down; negative, the gap between them."""
    return min(a.bottom, b.bottom) - max(a.y, b.y)


def _belong_together(a: Blob, b: Blob) -> bool:
    """Pieces of one digit: their boxes as one digit's pieces lie, and near each other if one is a long line."""
    if not _boxes_belong_together(a, b):
        return False
    return _near_if_a_line(a, b) if max(a.h, a.w) < max(b.h, b.w) else _near_if_a_line(b, a)


def _boxes_belong_together(a: Blob, b: Blob) -> bool:
    """Pieces of one digit by their boxes: stacked and close (a 5's flag), or one within the other's width (a 4)."""
    x_overlap, y_overlap = _x_overlap(a, b), _y_overlap(a, b)
    small, big = (a, b) if a.h < b.h else (b, a)  # by height
    if y_overlap > 0.5 * small.h:
        # Side by side at the same height: only a piece mostly within the other's width is part of it (a 0
        # drawn in two strokes, "(" and ")"), otherwise a slanted 1 would swallow its neighbour (at 0.4 of the
        # narrower's width it did; at 0.8 a 0's halves stayed apart). Or a bar drawn apart, half of it within
        # the digit's width (a 2's base, a 7's top), or a loop drawn apart from its stem: touching
        # the upper part of it (a 9's, a closed 4's), or the stem's lower end running into it (a 6's;
        # at least a third of the stem's height: specks of texture beside a stroke would chain into it).
        bar = small.h < 0.5 * small.w and x_overlap >= 0.5 * small.w
        upper = small.h < 0.6 * big.h and small.bottom < big.y + 0.6 * big.h and x_overlap >= 0
        lower = 0.35 * big.h <= small.h < 0.7 * big.h and small.y > big.y + 0.4 * big.h and x_overlap > 0
        loop = small.w >= 0.4 * big.h and (upper or lower)  # a loop, not a sliver of a broken line
        return x_overlap >= SIDE_BY_SIDE_OVERLAP * min(a.w, b.w) or bar or loop
    if x_overlap < 0.5 * min(a.w, b.w):
        return False
    # Stacked: a small piece close above or below (a 5's flag, a 7's bar). Two digits of the same
    # size stacked are two rows, unless they all but touch (an 8 whose waist the pen skipped).
    gap = -y_overlap
    if small.h < 0.5 * big.h:
        if small.y > big.y:  # below: a 2's base or a 1's foot all but touches it; an underline need not, and is wider
            underline = small.w >= UNDERLINE_WIDER * big.w and small.w >= UNDERLINE_LONG * big.h
            return gap < 0.1 * big.h and not underline
        # A speck or a dot farther off than twice its size is not part of the digit (a drawing app's palette).
        return gap < STACKED_REACH * big.h and gap <= 2 * max(small.w, small.h)
    return gap < 0.04 * big.h and x_overlap >= 0.7 * min(a.w, b.w)


def _vertically_near(a: Blob, b: Blob) -> bool:
    """Close enough in height for _boxes_belong_together: none of its cases joins boxes farther apart."""
    return max(a.y, b.y) - min(a.bottom, b.bottom) < STACKED_REACH * max(a.h, b.h)


def _near_if_a_line(small: Blob, big: Blob) -> bool:
    """Whether the small piece comes near the big one's strokes when those make a long straight line and the
    piece lies beside it (a pen lying aslant on the page, whose box holds much paper and perhaps a digit); True
    otherwise, as for a piece beyond the line's end (the rest of a stroke that broke)."""
    # A flat piece is no digit, and may be a 7's bar drawn apart.
    not_a_pen = len(big.contours) > MAX_PEN_PIECES
    if not_a_pen or max(small.h, small.w) >= 0.5 * max(big.h, big.w) or small.h < 0.5 * small.w:
        return True
    outline = np.concatenate(big.contours)
    if not is_straight(outline, STRAIGHT_STROKE):
        return True
    line = StraightPiece.of(outline)
    along, _ = along_and_across(outline[:, 0, 0], outline[:, 0, 1], line.direction, line.centre)
    centre, _ = along_and_across(small.x + small.w / 2, small.y + small.h / 2, line.direction, line.centre)
    if not along.min() <= centre <= along.max():
        return True
    reach = 0.25 * max(small.h, small.w)
    points = np.concatenate(small.contours).reshape(-1, 2)
    return any(
        abs(cv2.pointPolygonTest(stroke, (float(x), float(y)), True)) <= reach
        for stroke in big.contours
        for x, y in points
    )


def _group(blobs: list[Blob]) -> list[Blob]:
    """Merge pieces that belong together, repeating until nothing changes (a merged box may reach further)."""
    while True:
        blobs.sort(key=lambda b: b.x)
        merged: list[Blob] = []  # stays sorted by x: a merge keeps the left edge of the earlier blob
        reaching: list[int] = []  # indices into merged of those whose right edge reaches the current blob
        for blob in blobs:
            # Pieces that belong together overlap in x: only those whose right edge reaches this blob can
            # take it, and one that falls short of it falls short of every later blob too. (Bounded by the
            # widest piece instead, one wide piece had a texture's thousands compared pair by pair: seconds.)
            reaching = [index for index in reaching if merged[index].right >= blob.x]
            # Pieces that belong together are close in height too: a cheap first test, as a texture's wide
            # merged pieces reach over many others.
            partner = next(
                (
                    index
                    for index in reversed(reaching)
                    if _vertically_near(merged[index], blob) and _belong_together(merged[index], blob)
                ),
                None,
            )
            if partner is None:
                merged.append(blob)
                reaching.append(len(merged) - 1)
            else:
                merged[partner] = merged[partner].merged(blob)
        if len(merged) == len(blobs):
            return merged
        blobs = merged


def _without_specks(blob: Blob) -> Blob:
    """The blob without specks: pieces far smaller than it and apart from its other pieces. On faint
    squared paper the crossings of the lines stay behind as a lattice of specks, and those inside a
    digit's box would be thickened into blots; the bits of a faint stroke that broke lie close together."""
    if len(blob.contours) < 2:
        return blob
    boxes = np.array([cv2.boundingRect(c) for c in blob.contours])
    left, top, right, bottom = boxes[:, 0], boxes[:, 1], boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]

    def is_speck(index: int) -> bool:
        x, y, w, h = boxes[index]
        size = max(w, h)
        if size >= SPECK * blob.h:
            return False
        centre = (float(x + w / 2), float(y + h / 2))
        # Only pieces whose boxes come near can be near; the precise distance is to their outlines.
        gaps = np.maximum.reduce([left - x - w, x - right, top - y - h, y - bottom])
        near = np.flatnonzero(gaps <= 1.5 * size)
        return not any(
            abs(cv2.pointPolygonTest(blob.contours[other], centre, True)) <= 1.5 * size
            for other in near
            if other != index
        )

    kept = [c for index, c in enumerate(blob.contours) if not is_speck(index)]
    if len(kept) == len(blob.contours) or not kept:
        return blob
    return Blob(*cv2.boundingRect(np.concatenate(kept)), kept)


def _join_broken(blobs: list[Blob]) -> list[Blob]:
    """Join the halves of a digit whose stroke broke (a pencil, a skipping pen): pieces stacked close,
    each shorter than the digits around them, that together make one digit's height, not two rows."""
    if len(blobs) == 2:
        # Two pieces alone, stacked and all but touching: one digit broken across its middle (a 3 whose pen
        # skipped) is likelier than two rows of one digit each that nearly touch.
        upper, lower = sorted(blobs, key=lambda b: b.y)
        x_overlap = _x_overlap(upper, lower)
        gap = lower.y - upper.bottom
        if x_overlap >= 0.7 * min(upper.w, lower.w) and 0 <= gap < LONE_HALVES_GAP * max(upper.h, lower.h):
            return [upper.merged(lower)]
        return blobs
    if not 3 <= len(blobs) <= 2 * MAX_DIGITS:  # too few to know a digit's height; too many is a texture
        return blobs
    # A digit's height, from pieces that are not straight lines: a page edge or margin is far taller.
    shaped = [b for b in blobs if not is_straight(np.concatenate(b.contours), STRAIGHT_STROKE)] or blobs
    tallest = max(b.h for b in shaped)
    typical = float(np.median([b.h for b in shaped if b.h >= 0.75 * tallest]))
    joined: list[Blob | None] = sorted(blobs, key=lambda b: b.y)
    for i in range(len(joined)):
        for j in range(i + 1, len(joined)):
            upper, lower = joined[i], joined[j]
            if upper is None or lower is None or max(upper.h, lower.h) >= 0.85 * typical:
                continue
            x_overlap = _x_overlap(upper, lower)
            # A flat piece above may reach out sideways, as a 5's flag does from the top of its stem.
            flag = upper.h < 0.5 * upper.w and upper.y + upper.h / 2 < lower.y
            stacked = x_overlap > 0 if flag else x_overlap >= 0.5 * min(upper.w, lower.w)
            if not stacked or lower.y - upper.bottom >= 0.2 * typical:
                continue  # not stacked close
            together = upper.merged(lower)
            if together.h <= 1.3 * typical:
                joined[i], joined[j] = together, None
    return [b for b in joined if b is not None]


def _separate(blob: Blob, ink_mask: np.ndarray) -> list[Blob]:
    """Split digits written close together: joined by the pixel of growth, but apart in the ink itself.

    The blob's own ink is grouped again; two or more groups of about the blob's height are digits,
    and smaller pieces (a skipped bit of stroke, a speck) join the nearest of them.
    """
    contours, _ = cv2.findContours(
        blob.mask(ink_mask), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(blob.x, blob.y)
    )
    if len(contours) > MAX_PIECES:  # a texture (noise, gravel) that the grown ink joined into one piece
        return []
    if not 2 <= len(contours) <= MAX_SEPARATE_PIECES:
        return [blob]
    pieces = _group([Blob(*cv2.boundingRect(c), [c]) for c in contours])
    # Three quarters: the two strokes of an open 4 (its bar stopping short of the stem) are not digits.
    digit_height = 0.75 * blob.h
    # A line under the digits and joined to them makes the blob taller than they are, and is none of theirs: a flat
    # piece in its lower part, under the middles of two digits or more.
    flat = [p.h < FLAT * p.w and p.y > blob.y + 0.6 * blob.h for p in pieces]
    if sum(p.h >= digit_height for p in pieces) < 2 and 0 < sum(flat) < len(pieces):
        height_without_lines = 0.75 * max(p.h for p, line in zip(pieces, flat) if not line)
        middles = [p.x + p.w / 2 for p, line in zip(pieces, flat) if not line and p.h >= height_without_lines]
        under = [line and sum(p.x <= middle <= p.right for middle in middles) >= 2 for p, line in zip(pieces, flat)]
        if any(under):
            digit_height = height_without_lines
            pieces = [p for p, line in zip(pieces, under) if not line]
    digits = [p for p in pieces if p.h >= digit_height]
    if len(digits) < 2:
        return [blob]
    for piece in pieces:
        if piece.h < digit_height:
            centre = piece.x + piece.w / 2
            nearest = min(range(len(digits)), key=lambda i: abs(digits[i].x + digits[i].w / 2 - centre))
            digits[nearest] = digits[nearest].merged(piece)
    return digits


def _split_touching(blob: Blob, ink_mask: np.ndarray) -> list[Blob]:
    """Cut a blob of digits written into each other: between loops side by side, or, when much wider than
    tall, at its thinnest columns.

    Into as many digits as fit, from narrow ones (0.55 x its height wide) down to wider ones (0.75 x),
    the first count whose cuts all fall on thin necks: a count too low cuts through digits.
    """
    if blob.w < blob.h:  # two digits side by side are wider than tall (a 6 whose stem curls into its loop is not)
        return [blob]
    inside = blob.mask(ink_mask)
    columns = inside.sum(axis=0)
    between_loops = _cut_between_loops(blob, inside, columns)
    if between_loops:
        return between_loops
    if blob.w < 1.5 * blob.h:  # a 0 or 5 written wide is still one digit
        return [blob]
    # Digits that touch meet in a thin neck; a wide 0 has as much ink mid-way as elsewhere.
    neck = 0.6 * np.median(columns[columns > 0])
    for count in range(min(6, round(blob.w / (0.55 * blob.h))), max(2, round(blob.w / (0.75 * blob.h))) - 1, -1):
        pieces = _cut(blob, inside, columns, count, neck)
        if pieces:
            for cut in pieces:  # a 0 written flat and open at the top has a neck too: the network may undo the cut
                cut.cut_from = blob
            return pieces
    return [blob]


def _cut_between_loops(blob: Blob, inside: np.ndarray, columns: np.ndarray) -> list[Blob]:
    """Cut between loops side by side: no digit has two (an 8's are stacked), so "00" or "68" written into
    each other are two digits, however long the stretch where they touch. [] when there are none."""
    contours, hierarchy = cv2.findContours(inside, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    holes = [cv2.boundingRect(c) for c, (*_, parent) in zip(contours, hierarchy[0]) if parent >= 0]
    loops = sorted((x, y, w, h) for x, y, w, h in holes if h >= 0.3 * blob.h)
    cuts, reach = [0], 0  # reach: the right edge of the loops so far
    for (ax, ay, aw, ah), (bx, by, _, bh) in zip(loops, loops[1:]):
        reach = max(reach, ax + aw)
        beside = min(ay + ah, by + bh) - max(ay, by) >= 0.5 * min(ah, bh)
        if beside and bx - reach > -0.1 * blob.h:  # apart, or overlapping a little (slanted loops)
            low, high = min(reach, bx), max(reach, bx) + 1
            cuts.append(low + int(np.argmin(columns[low:high])))
    if len(cuts) == 1:
        return []
    cuts.append(blob.w)
    pieces = _pieces(blob, inside, cuts)
    # Where two digits touch, the outline narrows to a waist; a stroke across a 0 (its pen overshooting
    # inside) runs from its top to its bottom.
    for cut, left, right in zip(cuts[1:], pieces, pieces[1:]):
        rows = np.flatnonzero(inside[:, cut])
        if len(rows) and rows[-1] - rows[0] + 1 > 0.75 * min(left.h, right.h):
            return []
    return pieces


def _cut(blob: Blob, inside: np.ndarray, columns: np.ndarray, count: int, neck: float) -> list[Blob]:
    """The blob cut into `count` digits at the thinnest column near each even share of its width, or []
    when a cut would go through a digit (more than `neck` ink pixels in its column)."""
    cuts = [0]
    for i in range(1, count):
        centre, reach = round(i * blob.w / count), max(1, round(0.3 * blob.w / count))
        low, high = max(cuts[-1] + 1, centre - reach), min(blob.w - 1, centre + reach)
        if low >= high:
            return []
        cut = low + int(np.argmin(columns[low:high]))
        if columns[cut] > neck:
            return []
        cuts.append(cut)
    cuts.append(blob.w)
    return _pieces(blob, inside, cuts)


def _pieces(blob: Blob, inside: np.ndarray, cuts: list[int]) -> list[Blob]:
    """The blob cut at these columns (its own left and right edges included), or [] when a piece lacks a
    digit's height: a scribble or a line, not digits."""
    pieces = [piece(blob, inside, start, end) for start, end in zip(cuts, cuts[1:])]
    return pieces if all(pieces) else []


def piece(blob: Blob, inside: np.ndarray, start: int, end: int) -> Blob | None:
    """The part of the blob between columns start and end (its mask `inside`), or None when it lacks
    a digit's height (0.6 x the blob's)."""
    rows = np.flatnonzero(inside[:, start:end].any(axis=1))
    if len(rows) == 0 or rows[-1] - rows[0] + 1 < 0.6 * blob.h:
        return None
    return Blob(blob.x + start, blob.y + int(rows[0]), end - start, int(rows[-1] - rows[0] + 1), blob.contours)


def cut_candidates(inside: np.ndarray) -> list[int]:
    """Columns of a blob's mask where digits written into each other may meet, left to right: those with
    least ink, away from its sides and from each other; seven for each of its heights in width, six at least
    (with six, a blob of three digits had often lacked a column where two of them meet)."""
    height, width = inside.shape
    count = max(6, round(7 * width / height))
    ink = np.convolve(inside.sum(axis=0).astype(np.float32), np.ones(3) / 3, mode="same")
    margin, apart = max(1, round(0.15 * height)), max(3, 0.12 * height)
    cuts: list[int] = []
    for column in np.argsort(ink[margin : width - margin], kind="stable") + margin:
        if all(abs(column - cut) >= apart for cut in cuts):
            cuts.append(int(column))
            if len(cuts) == count:
                break
    return sorted(cuts)


def cut_apart(blob: Blob, inside: np.ndarray, cuts: list[int]) -> dict[tuple[int, int], Blob]:
    """The pieces between any two of `cuts` (the blob's edges included) that could be one digit: from
    0.12 to 1.3 x the blob's height wide and tall enough, keyed by (index of left cut, index of right cut).
    The whole blob is one of them."""
    pieces = {}
    for i, start in enumerate(cuts):
        for j in range(i + 1, len(cuts)):
            whole = i == 0 and j == len(cuts) - 1
            if not whole and not 0.12 * blob.h <= cuts[j] - start <= 1.3 * blob.h:
                continue
            part = blob if whole else piece(blob, inside, start, cuts[j])
            if part is not None:
                pieces[(i, j)] = part
    return pieces


def _is_digit_sized(blob: Blob, short_side: int, height: int) -> bool:
    return MIN_DIGIT_HEIGHT_FRACTION * short_side <= blob.h <= MAX_DIGIT_HEIGHT_FRACTION * height


def _beside_a_digit(blob: Blob, digits: list[Blob]) -> bool:
    """Whether the blob is on a line with a digit as tall beside it."""
    for digit in digits:
        shared = _y_overlap(blob, digit)
        gap = max(blob.x - digit.right, digit.x - blob.right)
        if (
            max(blob.h, digit.h) <= SAME_HEIGHT * min(blob.h, digit.h)
            and shared >= ON_ITS_LINE * min(blob.h, digit.h)
            and gap <= BESIDE * digit.h
        ):
            return True
    return False


def _in_line_with(digits: list[Blob], blobs: list[Blob]) -> list[Blob]:
    """The blobs beside a digit as tall, on its line, or beside such a blob, and so on (up to MAX_DIGITS in all:
    more is no number anyway)."""
    found: list[Blob] = []
    while len(digits) + len(found) <= MAX_DIGITS:
        more = [b for b in blobs if _beside_a_digit(b, digits + found)]
        if not more:
            break
        found += more
        blobs = [b for b in blobs if not any(b is m for m in more)]
    return found


def _is_blot(blob: Blob, ink: np.ndarray) -> bool:
    """A roundish patch of solid ink (`ink`: the blob's, Blob.mask): a punched hole, a colour swatch, a blot. A digit
    is drawn with strokes, so even a bold one leaves paper inside its outline (the loops of an 8, the bays of a 3),
    or encloses some (a marker's 0 or 8, its loops all but filled)."""
    if not 0.6 * blob.h <= blob.w <= 1.6 * blob.h:
        return False
    outline = cv2.convexHull(np.concatenate(blob.contours))
    # Roundish at its own angle too: a bold 1 slanting across the frame has a square box but is a stroke.
    _, sides, _ = cv2.minAreaRect(outline)
    if min(sides) < 0.6 * max(sides):
        return False
    hull = np.zeros((blob.h, blob.w), np.uint8)
    cv2.fillConvexPoly(hull, outline - (blob.x, blob.y), 1)
    # The outline is of the ink grown by a pixel: shrink it back, or a small hole's rim counts as paper.
    hull = cv2.erode(hull, np.ones((3, 3), np.uint8))
    if np.count_nonzero(ink) < 0.8 * np.count_nonzero(hull):
        return False
    # Paper enclosed by the ink: a bold digit's loop, however small; a hole or a swatch is solid.
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parents = hierarchy[0][:, 3] if contours else []
    enclosed = sum(cv2.contourArea(c) for c, parent in zip(contours, parents) if parent >= 0)
    return enclosed < ENCLOSED * np.count_nonzero(hull)


def _peak(blob: Blob, ink: np.ndarray, darkness: np.ndarray) -> int:
    """How dark the blob's ink (`ink`, Blob.mask) is at its darkest, but for a few pixels: its 90th percentile."""
    return percentile(darkness[blob.y : blob.bottom, blob.x : blob.right], 90, where=ink)


def _stands_out(blob: Blob, ink: int, ink_mask: np.ndarray, darkness: np.ndarray, on_dark: bool) -> bool:
    """Dark enough ink (`ink`: its _peak) on clean paper: not faint texture, not a pattern of wood grain or fabric."""
    # The paper around it: a margin beyond its box (a thin 1's box holds hardly any paper), a few
    # pixels away from any ink (past the anti-aliased rims, not the neighbouring digits).
    margin = max(3, blob.h // 6)
    window = np.s_[max(0, blob.y - margin) : blob.bottom + margin, max(0, blob.x - margin) : blob.right + margin]
    paper = cv2.dilate(ink_mask[window], np.ones((5, 5), np.uint8)) == 0
    clutter = percentile(darkness[window], 90, where=paper.view(np.uint8))
    clean_canvas = on_dark and clutter < CLEAN_CANVAS * ink
    return ink >= (MIN_PEAK_LIGHTNESS if clean_canvas else MIN_PEAK_DARKNESS) * 255 and clutter < MAX_CLUTTER * ink


def _has_sharp_edges(blob: Blob, mask: np.ndarray, peak: int, darkness: np.ndarray, pixel: float) -> bool:
    """Whether the blob's darkness rises at its edges as ink's does, as sharp as the photo's focus allows: the soft
    shadow of a pen or a finger held over the page, a wide stroke, rises over many pixels (at a quarter of its
    outline or more, under SOFT_EDGES of its peak darkness per pixel of the working image, `pixel` of this
    image's); a dark one (over SHADOW_DARKNESS) only when it is a bar. `mask` and `peak`: the blob's ink (Blob.mask)
    and its _peak."""
    if peak > SHADOW_DARKNESS and not is_straight(np.concatenate(blob.contours), BAR_STRAIGHTNESS):
        return True
    outline = sum(cv2.arcLength(contour, True) for contour in blob.contours)
    if np.count_nonzero(mask) / max(outline, 1) * pixel < SHADOW_HALF_WIDTH:  # a stroke's area over its outline
        return True  # a thin stroke: faint ink rises little above the threshold at its outline
    box = darkness[blob.y : blob.bottom, blob.x : blob.right]
    edge = mask & ~cv2.erode(mask, np.ones((3, 3), np.uint8))
    if not peak or not edge.any():
        return True
    across = cv2.Sobel(box, cv2.CV_32F, 1, 0, ksize=3)
    down = cv2.Sobel(box, cv2.CV_32F, 0, 1, ksize=3)
    gradient = np.sqrt(across * across + down * down)[edge > 0] / 8  # a Sobel kernel weighs a unit slope 8
    # The upper quartile: a stroke blurred by the hand's shake stays sharp along the shake.
    return float(np.percentile(gradient, 75)) >= SOFT_EDGES * pixel * peak


def _walls(candidates: list[Blob], straight: set[int]) -> set[int]:
    """The straight strokes that are walls of cells drawn around digits, not 1s: two or more, from one top to
    one bottom, each reaching past the top and the bottom of a digit beside it (a 1 stands on its line)."""
    shaped = [b for i, b in enumerate(candidates) if i not in straight]

    def reaches_past_a_neighbour(stroke: Blob) -> bool:
        for digit in shaped:
            beside = min(abs(digit.x - stroke.right), abs(stroke.x - digit.right)) < 0.6 * digit.h
            past = WALL_PAST * digit.h
            if beside and stroke.y < digit.y - past and stroke.bottom > digit.bottom + past:
                return True
        return False

    reaching = [i for i in straight if reaches_past_a_neighbour(candidates[i])]
    walls = set()
    for i in reaching:
        a = candidates[i]
        alike = [
            j
            for j in reaching
            if abs(candidates[j].y - a.y) < WALL_PAST * a.h and abs(candidates[j].bottom - a.bottom) < WALL_PAST * a.h
        ]
        if len(alike) >= 2:
            walls.update(alike)
    return walls


def _is_page_outline(contour: np.ndarray, width: int, height: int) -> bool:
    """The rim of a sheet lying on a darker table: a quadrilateral a quarter of the frame or more."""
    _, _, w, h = cv2.boundingRect(contour)
    if w < width / 4 or h < height / 4:
        return False
    area = cv2.contourArea(contour)
    if area < 0.5 * w * h:  # not one stroke
        return False
    corners = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
    # Straight sides: the four corners enclose nearly all of it (of a big drawn 0, at most 2/pi).
    return len(corners) == 4 and cv2.isContourConvex(corners) and cv2.contourArea(corners) >= 0.9 * area


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


def writing_slope(blobs: list[Blob]) -> float:
    """The angle of the writing in degrees, clockwise as seen (0: level): the median over blobs of the angle
    from each to its nearest neighbour to the right that is roughly level with it; 0 without such a pair."""
    angles = []
    for a in blobs:
        ax, ay = a.x + a.w / 2, a.y + a.h / 2
        nearest = math.inf
        for b in blobs:
            dx, dy = b.x + b.w / 2 - ax, b.y + b.h / 2 - ay
            distance = math.hypot(dx, dy)
            if dx > 0 and abs(dy) < dx * MAX_SLOPE and distance < min(nearest, NEIGHBOUR_REACH * max(a.h, b.h)):
                nearest = distance
                angle = math.degrees(math.atan2(dy, dx))
        if nearest < math.inf:
            angles.append(angle)
    return float(np.median(angles)) if angles else 0.0


def _pieces_of_ink(mask: np.ndarray) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Each piece of ink's outer contour and the contours of its holes. A piece inside another's hole
    (a digit in a box) is a piece too."""
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    parents = hierarchy[0][:, 3]  # -1 for an outer contour, else the outer contour a hole belongs to
    holes: dict[int, list[np.ndarray]] = {int(index): [] for index in np.flatnonzero(parents < 0)}
    for index in np.flatnonzero(parents >= 0):
        holes[int(parents[index])].append(contours[index])
    return [(contours[index], piece_holes) for index, piece_holes in holes.items()]


def _body(pieces: list[tuple[np.ndarray, list[np.ndarray]]], shape: tuple[int, int]) -> np.ndarray:
    """Where the pieces' own ink lies (1): inside their outlines, outside their holes (whose rims are ink)."""
    body = np.zeros(shape, np.uint8)
    for outer, holes in pieces:
        cv2.drawContours(body, [outer], -1, 1, thickness=-1)
        cv2.drawContours(body, holes, -1, 0, thickness=-1)
        cv2.drawContours(body, holes, -1, 1, thickness=3)
    return body


def _big_holes(piece: tuple[np.ndarray, list[np.ndarray]], height: int) -> int:
    """How many of the piece's holes are over 0.6 of its height: a row of cells has one for each cell; a ring has
    one, the loops of digits touching it are smaller."""
    return sum(cv2.boundingRect(hole)[3] > 0.6 * height for hole in piece[1])


def _frames(
    pieces: list[tuple[np.ndarray, list[np.ndarray]]], boxes: list[tuple[int, int, int, int]], min_height: float
) -> set[int]:
    """Boxes and rings drawn around digits (a form's boxes, a circled number): pieces with a hole that
    holds another piece a third their height or more. Nothing a digit's loop holds is that big."""
    tall = [index for index, (_, _, _, h) in enumerate(boxes) if h >= min_height]

    def holds_a_piece(frame: int, hole: np.ndarray) -> bool:
        _, _, frame_w, frame_h = boxes[frame]
        for inner in tall:
            x, y, w, h = boxes[inner]
            if (
                inner != frame
                and 0.3 * frame_h <= h < frame_h
                and w < frame_w  # smaller: a page edge around a 0 can have its centre in the 0's hole
                and cv2.pointPolygonTest(hole, (x + w / 2, y + h / 2), False) > 0
            ):
                return True
        return False

    return {
        frame
        for frame in tall
        if any(cv2.boundingRect(hole)[3] >= min_height and holds_a_piece(frame, hole) for hole in pieces[frame][1])
    }


def _continuing_edges(blobs: list[Blob], edges: list[StraightPiece], short_side: int) -> set[int]:
    """Indices of the pieces (one contour each) that continue a page edge or margin beyond its ends: each lies
    all along the edge's line, and comes at most MAX_EDGE_GAP of the short side past the last piece taken. The
    line is fitted again with each piece taken: a faint margin breaks into bits between the rules crossing it,
    and its direction measured on its first bit alone would miss the far ones."""
    taken: set[int] = set()
    if not edges or len(blobs) > 10 * MAX_DIGITS:  # a texture's many pieces are not followed
        return taken
    centres = np.array([(b.x + b.w / 2, b.y + b.h / 2) for b in blobs], np.float32).reshape(-1, 2)
    half_lengths = np.array([max(b.w, b.h) / 2 for b in blobs], np.float32)
    for edge in edges:
        points = edge.points.reshape(-1, 2).astype(np.float32)
        while True:
            ux, uy, cx, cy = cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
            along, _ = along_and_across(points[:, 0], points[:, 1], (ux, uy), (cx, cy))
            centre_along, across = along_and_across(centres[:, 0], centres[:, 1], (ux, uy), (cx, cy))
            across = np.abs(across)
            # From the line's ends to each piece's near end: beyond them, not beside the line.
            gap = np.maximum(along.min() - centre_along, centre_along - along.max()) - half_lengths
            following = next(
                (
                    int(i)
                    for i in np.argsort(gap)
                    if i not in taken
                    and -EDGE_REACH < gap[i] <= MAX_EDGE_GAP * short_side
                    and across[i] <= EDGE_REACH
                    and _within_reach(blobs[i].contours[0], (ux, uy), (cx, cy))
                ),
                None,
            )
            if following is None:
                break
            taken.add(following)
            points = np.concatenate([points, blobs[following].contours[0].reshape(-1, 2).astype(np.float32)])
    return taken


def _within_reach(contour: np.ndarray, direction: tuple[float, float], centre: tuple[float, float]) -> bool:
    """Whether all of a piece's outline lies within EDGE_REACH px of the line through `centre` along `direction`."""
    _, across = along_and_across(contour[:, 0, 0], contour[:, 0, 1], direction, centre)
    return bool(np.abs(across).max() <= EDGE_REACH)


def find_digits(ink: Ink, keep_blots_below: float = 0.0, pixel: float = 1.0) -> list[list[Blob]]:
    """Digit candidates in reading order: a list of rows, each a list of blobs left to right. `pixel`: the working
    image's pixels per pixel of this one (0.5 at twice its resolution).

    Blots shorter than `keep_blots_below` px, and not in line with digits, are kept too, flagged `blot`: a small
    digit's loops fill in when the photo is shrunk, and only a look at more pixels can tell it from a punched hole.
    """
    ink_mask, darkness = ink.mask, ink.darkness
    height, width = ink_mask.shape
    # Contours of the ink grown by a pixel: a ballpoint stroke that skipped stays one piece.
    grown = cv2.dilate(ink_mask, np.ones((3, 3), np.uint8))
    ink_pieces = _pieces_of_ink(grown)
    # Around the sheet: a solid bar as big (a bold 1 in a crop tight around it) is none.
    outlines = [(outer, holes) for outer, holes in ink_pieces if holes and _is_page_outline(outer, width, height)]
    if outlines:  # the paper estimate's blur leaves a rim of "ink" around a sheet: erase it
        cv2.drawContours(grown, [outer for outer, _ in outlines], -1, 0, thickness=PAGE_RIM)
        # All of it but what lies in its holes: a box drawn in cells (a form's) keeps the walls between them.
        grown[_body(outlines, grown.shape) > 0] = 0
        ink_pieces = _pieces_of_ink(grown)
    if len(ink_pieces) > MAX_PIECES:
        return []
    short_side = min(height, width)
    boxes = [cv2.boundingRect(outer) for outer, _ in ink_pieces]
    frames = _frames(ink_pieces, boxes, MIN_DIGIT_HEIGHT_FRACTION * short_side)
    # A box or ring drawn around the digits is erased along its outline, so that the digits touching it come free;
    # a row of cells, with several holes about its height, is left out whole with the digits touching it (its walls
    # would stay behind).
    rings = [ink_pieces[index] for index in frames if _big_holes(ink_pieces[index], boxes[index][3]) == 1]
    if rings:
        for outer, holes in rings:
            stroke = (cv2.contourArea(outer) - sum(map(cv2.contourArea, holes))) / max(cv2.arcLength(outer, True), 1)
            cv2.drawContours(grown, [outer], -1, 0, thickness=2 * round(stroke) + 3)
        ink_pieces = _pieces_of_ink(grown)
        boxes = [cv2.boundingRect(outer) for outer, _ in ink_pieces]
        frames = _frames(ink_pieces, boxes, MIN_DIGIT_HEIGHT_FRACTION * short_side)
    blobs, off_the_edge = [], []  # off_the_edge: straight pieces running off the photo (a page or table edge)
    # Turned ink (Ink.turned) has the photo's edge inside its canvas: pieces reaching it run off the photo too.
    inside_photo = ink.inside_photo()
    for index, ((contour, _), (x, y, w, h)) in enumerate(zip(ink_pieces, boxes)):
        touches_border = x == 0 or y == 0 or x + w == width or y + h == height
        if inside_photo is not None and not touches_border:
            touches_border = not inside_photo[contour[:, 0, 1], contour[:, 0, 0]].all()
        if max(w, h) >= 3 and not touches_border and index not in frames:
            blobs.append(Blob(x, y, w, h, [contour]))
        elif (
            touches_border
            and max(w, h) >= MIN_DIGIT_HEIGHT_FRACTION * short_side
            and is_straight(contour, STRAIGHT_STROKE)
        ):
            off_the_edge.append(StraightPiece.of(contour))
    # Pieces continuing a page edge or margin, left out before they are grouped: near a sheet's corner, the rest of
    # its edges would otherwise join them into one "digit" as tall as the edge, and the digits on the page would
    # be too small beside it to count; a faint margin's bits would join into 1s.
    edges = ink.lone_lines + off_the_edge
    on_edges = _continuing_edges(blobs, edges, short_side)
    blobs = [b for i, b in enumerate(blobs) if i not in on_edges]
    tall_enough = _join_broken(
        [_without_specks(b) for b in _group(blobs) if b.h >= MIN_DIGIT_HEIGHT_FRACTION * short_side]
    )
    pieces = [
        piece
        for blob in tall_enough
        for separate in _separate(blob, ink_mask)
        for piece in _split_touching(separate, ink_mask)
    ]
    candidates, blots, flat = [], [], []
    for b in pieces:
        if b.h < FLATTEST_DIGIT * b.w or not _is_digit_sized(b, short_side, height):
            continue
        mask = b.mask(ink_mask)
        peak = _peak(b, mask, darkness)
        # A soft shadow is no ink (on a dark canvas, a shadow is darker still: paper, not ink).
        if _stands_out(b, peak, ink_mask, darkness, ink.inverted) and (
            ink.inverted or _has_sharp_edges(b, mask, peak, darkness, pixel)
        ):
            if b.h < FLAT * b.w:
                flat.append(b)
            elif not _is_blot(b, mask):
                candidates.append(b)
            else:
                blots.append(b)
    # A straight line much taller than the other digits is a page edge or a pen lying there, not a 1;
    # so are straight pieces end to end on one line, or on a margin or page edge removed with the paper lines.
    straight = {
        i: StraightPiece.of(points)
        for i, points in enumerate(np.concatenate(b.contours) for b in candidates)
        if is_straight(points, STRAIGHT_STROKE)
    }
    # The other straight pieces, the lines removed with the paper's, and those running off the photo: a page
    # edge tilted too far for the line finder leaves pieces between its breaks.
    lines = list(straight.values()) + edges
    on_a_line = {
        i for i, piece in straight.items() if any(on_one_line(piece, line) for line in lines if line is not piece)
    }
    tallest_shaped = max((b.h for i, b in enumerate(candidates) if i not in straight), default=math.inf)
    walls = _walls(candidates, set(straight))
    candidates = [
        b
        for i, b in enumerate(candidates)
        if i not in straight or (i not in on_a_line and i not in walls and b.h <= 1.4 * tallest_shaped)
    ]
    # A pen lying aslant may be no taller than the digits, but it is much longer, measured along it (a 1 may be
    # taller than the digits beside it, and slant), and may be thick. Without other digits, the shortest such bar
    # is the measure: a 1 beside a pen. A bar is as straight as ink.find_ink's.
    sides = {
        i: cv2.minAreaRect(np.concatenate(b.contours))[1]
        for i, b in enumerate(candidates)
        if len(b.contours) <= MAX_PEN_PIECES
    }
    bar_length = {i: max(two) for i, two in sides.items() if min(two) <= BAR_STRAIGHTNESS * max(two)}
    digit_height = max((b.h for i, b in enumerate(candidates) if i not in bar_length), default=0)
    longest = 2 * (digit_height or min(bar_length.values(), default=0))
    candidates = [b for i, b in enumerate(candidates) if bar_length.get(i, 0) <= longest]
    small_blots = [b for b in blots if b.h < keep_blots_below]
    tallest = max((b.h for b in candidates or small_blots), default=0)
    candidates = [b for b in candidates if b.h >= 0.35 * tallest]
    # A flat blob beside a digit as tall is a digit written wide (see FLAT), unless a bar (see FLAT_BAR): a pen
    # lying aslant beside the digits may have a box as flat and as tall as theirs. A blot there is a bold digit
    # whose loops filled in, not a punched hole or a swatch.
    wide = [b for b in flat if not is_straight(np.concatenate(b.contours), FLAT_BAR)]
    in_line = _in_line_with(candidates, wide + blots)
    for b in small_blots:
        if b.h >= 0.35 * tallest and not any(b is kept for kept in in_line):
            b.blot = True  # for a closer look
            candidates.append(b)
    candidates += in_line
    if len(candidates) > MAX_DIGITS:
        return []
    return _reading_order(candidates)
