"""The photo pipeline on real image bytes: ink, polarity, paper lines, segmentation, MNIST-style digits."""

import math

import cv2
import numpy as np
import pytest

from preprocessing import recognize, segment
from preprocessing.decode import decode_image
from preprocessing.ink import Ink, find_ink, is_light_on_dark
from preprocessing.normalize import mnist_style, stroke_width
from preprocessing.recognize import NO_DIGIT
from preprocessing.segment import Blob, cut_apart, cut_candidates, find_digits, writing_slope
from preprocessing.synthetic import DigitSource, default_source, photo_seed, render_photo


def paper(width: int = 1280, height: int = 960, ruled: bool = False) -> np.ndarray:
    """Grey-white paper lit unevenly from the left, optionally with ruled lines, a little noise."""
    ys, xs = np.mgrid[0:height, 0:width]
    page = 240 - 80 * xs / width - 20 * ys / height
    if ruled:
        for y in range(30, height, 48):
            page[y : y + 3, :] *= 0.8
    page += np.random.default_rng(0).normal(0, 3, page.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


def write(page: np.ndarray, text: str, x: int, y: int, height: int, thickness: int) -> None:
    """Draw text with its baseline at y and digits about `height` px tall."""
    scale = height / 22
    cv2.putText(page, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 40, thickness, cv2.LINE_AA)


def jpeg(page: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def blobs_of(page: np.ndarray):
    decoded = decode_image(jpeg(page))
    ink = find_ink(decoded.gray)
    return find_digits(ink), decoded.scale


def test_polarity_is_detected():
    dark_on_light = paper()
    write(dark_on_light, "3", 500, 600, 200, 12)
    assert not is_light_on_dark(dark_on_light)
    assert is_light_on_dark(255 - dark_on_light)
    blackboard = np.full((480, 640), 55, np.uint8)
    cv2.putText(blackboard, "7", (250, 350), cv2.FONT_HERSHEY_SIMPLEX, 8, 210, 14)
    assert is_light_on_dark(blackboard)
    cv2.ellipse(blackboard, (200, 240), (180, 150), 0, 0, 360, 110, -1)  # a lamp's bright patch on the board
    cv2.putText(blackboard, "7", (250, 350), cv2.FONT_HERSHEY_SIMPLEX, 8, 210, 14)
    assert is_light_on_dark(blackboard)
    assert not is_light_on_dark(note_on_a_table(table=30))


def shadowed(grey: int, ink: int, stroke: int, size: float) -> np.ndarray:
    """A surface of one grey with a dark shadow beside a "4" written in `ink`, a little noise."""
    photo = np.full((960, 1280), grey, np.uint8)
    cv2.putText(photo, "4", (560, 700), cv2.FONT_HERSHEY_SIMPLEX, size, ink, stroke, cv2.LINE_AA)
    ys, xs = np.mgrid[0:960, 0:1280]
    photo = photo * (1 - 0.85 * np.exp(-(((xs - 380) / 170) ** 2 + ((ys - 430) / 130) ** 2)))
    photo += np.random.default_rng(1).normal(0, 3, photo.shape)
    return np.clip(photo, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("grey, stroke, size", [(110, 8, 8), (140, 8, 8), (140, 16, 12)])  # chalk, thick chalk
def test_polarity_of_a_mid_grey_surface_with_a_shadow(recognizer, grey, stroke, size):
    # A board the camera exposed to mid-grey, and a dim page: their grey levels alike, their strokes not.
    board, page = shadowed(grey, 235, stroke, size), shadowed(grey, 30, stroke, size)
    assert is_light_on_dark(board) and not is_light_on_dark(page)
    assert recognizer.recognize(jpeg(board)).text == recognizer.recognize(jpeg(page)).text == "4"


def test_a_dim_page_is_dark_ink_on_paper(recognizer):
    page = paper()
    write(page, "58", 440, 620, 260, 10)
    dim = (page * 0.35).astype(np.uint8)  # evening light: the paper grey 56-84, as dark as a blackboard
    assert not is_light_on_dark(dim)
    assert recognizer.recognize(jpeg(dim)).text == "58"


def note_on_a_table(table: int) -> np.ndarray:
    """A sheet a third of the frame, "37" on it, lying on a dark table."""
    photo = np.full((960, 1280), table, np.uint8)
    photo[193:767, 258:1022] = 230
    cv2.putText(photo, "37", (450, 620), cv2.FONT_HERSHEY_SIMPLEX, 3.8, 40, 9, cv2.LINE_AA)
    return photo


@pytest.mark.parametrize("table", [30, 90])
def test_a_note_on_a_dark_table_is_read(recognizer, table):
    # Dark ink on a bright sheet, though most of the photo is dark; the sheet's rim (where the paper
    # estimate blurs into the table) must not hide the digits inside it.
    assert recognizer.recognize(jpeg(note_on_a_table(table))).text == "37"


def test_light_ink_on_dark_background_is_read(recognizer):
    board = np.full((960, 1280), 50, np.uint8)  # chalk-white digit on a dark board
    cv2.putText(board, "4", (560, 620), cv2.FONT_HERSHEY_SIMPLEX, 12, 215, 18, cv2.LINE_AA)
    result = recognizer.recognize(jpeg(board))
    assert result.text == "4"


def test_ruled_lines_are_removed_and_ink_kept():
    page = paper(ruled=True)
    write(page, "8", 560, 620, 240, 10)
    ink = find_ink(decode_image(jpeg(page)).gray)
    height, width = ink.mask.shape
    row_fill = (ink.mask > 0).sum(axis=1) / width
    assert row_fill.max() < 0.2, "no ruled line should survive as ink"
    assert (ink.mask[int(0.4 * height) : int(0.7 * height), int(0.4 * width) : int(0.6 * width)] > 0).sum() > 500


@pytest.mark.parametrize("text", ["3", "35"])
def test_a_margin_line_broken_by_the_digits_across_it_is_removed(recognizer, text):
    page = paper()
    cv2.line(page, (200, 0), (186, 960), 120, 3, cv2.LINE_AA)  # a notebook's margin line, a little tilted
    write(page, text, 150, 560, 120, 6)  # written across it: no piece of the line is long on its own
    assert recognizer.recognize(jpeg(page)).text == text


def test_a_wide_margin_line_cut_in_two_is_found_whole():
    page = paper()
    cv2.line(page, (200, 0), (176, 959), 150, 5, cv2.LINE_AA)  # a printed margin, 5 px wide, a little tilted
    cv2.line(page, (120, 600), (420, 600), 60, 30, cv2.LINE_AA)  # a marker's stroke cuts it in two
    ink = find_ink(decode_image(jpeg(page)).gray)
    # The short piece below the stroke too: its outline is as wide as the long one's, and that is no bow.
    assert sorted(round(line.centre[1]) // 100 for line in ink.lone_lines) == [1, 4]


def test_the_sides_of_big_zeros_are_not_paper_lines(recognizer):
    # Four long, nearly vertical strokes make a "family" like ruling, but they bow.
    page = paper()
    for centre in (420, 860):
        cv2.ellipse(page, (centre, 480), (170, 400), 0, 0, 360, 50, 3, cv2.LINE_AA)
    assert recognizer.recognize(jpeg(page)).text == "00"


def test_a_boxy_zero_is_not_a_page_outline(recognizer):
    page = paper()
    left, top, right, bottom, radius = 480, 180, 800, 780, 45  # a 0 drawn as a rounded rectangle
    sides = (((left + radius, top), (right - radius, top)), ((left + radius, bottom), (right - radius, bottom)))
    sides += (((left, top + radius), (left, bottom - radius)), ((right, top + radius), (right, bottom - radius)))
    for start, end in sides:
        cv2.line(page, start, end, 40, 8, cv2.LINE_AA)
    corners = ((left + radius, top + radius, 180), (right - radius, top + radius, 270))
    corners += ((right - radius, bottom - radius, 0), (left + radius, bottom - radius, 90))
    for x, y, angle in corners:
        cv2.ellipse(page, (x, y), (radius, radius), angle, 0, 90, 40, 8, cv2.LINE_AA)
    assert recognizer.recognize(jpeg(page)).text == "0"


def test_digits_are_ordered_left_to_right_and_rows_top_to_bottom():
    page = paper()
    write(page, "1 2 3", 300, 330, 160, 10)
    write(page, "4 5", 400, 750, 160, 10)
    rows, _ = blobs_of(page)
    assert [len(row) for row in rows] == [3, 2]
    assert all(a.x < b.x for row in rows for a, b in zip(row, row[1:]))
    assert max(b.bottom for b in rows[0]) < min(b.y for b in rows[1])


def test_writing_slope_is_the_angle_from_each_digit_to_the_next():
    drop = math.tan(math.radians(12))
    row = [Blob(100 + 70 * i, 200 + round(70 * i * drop), 40, 60) for i in range(5)]
    assert writing_slope(row) == pytest.approx(12, abs=0.5)
    rising = [Blob(b.x, 800 - b.y, b.w, b.h) for b in row]
    assert writing_slope(rising) == pytest.approx(-12, abs=0.5)
    # Two level rows: the digit below is no neighbour, nor is one alone.
    two_rows = [Blob(100 + 70 * i, y, 40, 60) for i in range(3) for y in (200, 290)]
    assert writing_slope(two_rows) == 0
    assert writing_slope(row[:1]) == 0


def turned(page: np.ndarray, degrees: float) -> np.ndarray:
    """The page turned counter-clockwise under the camera, the frame kept."""
    height, width = page.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(page, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)


def test_sloping_writing_is_levelled_before_its_rows_are_found(recognizer, monkeypatch):
    page = paper()
    write(page, "31 47", 300, 560, 150, 8)
    photo = jpeg(turned(page, 20))
    result = recognizer.recognize(photo)
    assert result.text == "3147"
    # Boxes are in the photo as it was sent: each digit's further right and higher than the last.
    boxes = [digit.box for digit in result.digits]
    assert all(a[0] < b[0] and a[1] > b[1] for a, b in zip(boxes, boxes[1:]))
    assert all(x >= 0 and y >= 0 and x + w <= 1280 and y + h <= 960 for x, y, w, h in boxes)
    monkeypatch.setattr(recognize, "MIN_SLOPE", 90.0)
    assert recognizer.recognize(photo).text == "47 31"  # without levelling: "47" found a row above "31"


def test_ink_running_off_the_photo_is_no_digit_once_turned():
    # A thumb's curved shadow reaching in from the right edge, beside a 0: turned, the photo's edge lies
    # inside the canvas, and the shadow must still count as running off it.
    mask = np.zeros((480, 640), np.uint8)
    cv2.ellipse(mask, (640, 240), (60, 50), 0, 90, 270, 255, 4)
    cv2.ellipse(mask, (320, 240), (38, 50), 0, 0, 360, 255, 3)
    ink = Ink(darkness=mask, mask=mask, inverted=False, lone_lines=[])
    assert [len(row) for row in find_digits(ink)] == [1]
    turned_ink, back = ink.turned(15)
    (zero,) = (blob for row in find_digits(turned_ink) for blob in row)
    x, y, _ = back @ (zero.x + zero.w / 2, zero.y + zero.h / 2, 1)
    assert abs(x - 320) < 2 and abs(y - 240) < 2


def test_a_broken_digit_is_one_digit_and_dots_and_dashes_are_not_digits():
    page = paper()
    # A 5 whose flag does not touch its body.
    cv2.line(page, (520, 300), (660, 300), 40, 12)
    cv2.line(page, (520, 330), (515, 440), 40, 12)
    cv2.ellipse(page, (580, 520), (90, 90), 0, -150, 150, 40, 12)
    cv2.line(page, (900, 500), (1020, 500), 40, 12)  # a dash
    cv2.circle(page, (1100, 600), 8, 40, -1)  # a dot
    rows, _ = blobs_of(page)
    assert len(rows) == 1 and len(rows[0]) == 1
    assert rows[0][0].x < 300 and rows[0][0].right < 360  # working image is half size


@pytest.mark.parametrize("text, left, right", [("58", 460, 800), ("7", 470, 640)])
@pytest.mark.parametrize("below", [[40], [8], [8, 30]], ids=["a fifth below", "close below", "twice"])
def test_an_underline_is_not_part_of_the_digits(recognizer, text, left, right, below):
    page = paper()
    write(page, text, 480, 560, 200, 12)  # the digits' ink ends about 6 px under the baseline
    for gap in below:  # px under the baseline; at 8 the line all but touches them, as a 2's base would
        cv2.line(page, (left, 566 + gap), (right, 566 + gap), 40, 6)
    assert recognizer.recognize(jpeg(page)).text == text


def test_digits_written_in_a_form_s_boxes_are_read(recognizer):
    page = paper()
    for index, digit in enumerate("472"):
        left = 300 + 220 * index
        cv2.rectangle(page, (left, 300), (left + 180, 560), 60, 4)
        write(page, digit, left + 50, 490, 130, 10)
    assert recognizer.recognize(jpeg(page)).text == "472"


def test_digits_written_in_a_row_of_cells_are_read(recognizer):
    # The cells share their walls, and the row is a quarter of the photo or more, as a sheet's rim would be:
    # its walls between the cells had been read as 1s.
    page = paper()
    cv2.rectangle(page, (300, 300), (960, 560), 60, 4)
    for index, digit in enumerate("472"):
        left = 300 + 220 * index
        cv2.line(page, (left, 300), (left, 560), 60, 4)
        write(page, digit, left + 50, 525, 180, 12)  # the walls are not much taller than the digits
    assert recognizer.recognize(jpeg(page)).text == "472"


def test_walls_between_digits_are_not_read_as_1s(recognizer):
    # A row of cells whose top and bottom were taken for the ruling of the paper: the walls left standing reach
    # past the digits above and below, as 1s do not.
    page = paper()
    for index, digit in enumerate("352"):
        write(page, digit, 380 + 200 * index, 560, 160, 12)
    for x in (330, 530, 730, 930):
        cv2.line(page, (x, 382), (x, 584), 40, 6)
    assert recognizer.recognize(jpeg(page)).text == "352"


def test_a_circled_number_is_read(recognizer):
    page = paper()
    write(page, "58", 480, 560, 200, 12)
    cv2.ellipse(page, (610, 470), (260, 200), 0, 0, 360, 40, 5)
    assert recognizer.recognize(jpeg(page)).text == "58"


def test_digits_touching_the_ring_around_them_are_read(recognizer):
    # The ring holds the 0 apart; the 3 and the 6 touch it, and had been left out with it.
    page = paper()
    write(page, "306", 480, 560, 200, 8)
    cv2.ellipse(page, (740, 465), (262, 150), 0, 0, 360, 40, 5)
    assert recognizer.recognize(jpeg(page)).text == "306"


@pytest.mark.parametrize("bowl_top, rows", [(252, [1]), (300, [1, 1])])
def test_two_pieces_alone_stacked_all_but_touching_are_one_digit(bowl_top, rows):
    # A 3 whose pen skipped across its middle (a development photo's had read "7 5" in two rows); farther
    # apart, they are two rows.
    mask = np.zeros((480, 640), np.uint8)
    cv2.polylines(mask, [np.array([[240, 120], [380, 115], [300, 235]])], False, 255, 3)  # a flat top, a diagonal
    cv2.ellipse(mask, (320, bowl_top + 55), (70, 55), 0, -110, 150, 255, 3)  # the bowl below
    found = find_digits(Ink(darkness=mask, mask=mask, inverted=False, lone_lines=[]))
    assert [len(row) for row in found] == rows


@pytest.mark.parametrize("middle_height, text", [(150, "304"), (12, "34")])
def test_a_digit_written_flat_between_digits_is_read_and_a_dash_is_not(recognizer, middle_height, text):
    # A 0 2.5 x as wide as tall, as tall as the digits beside it, had been left out with the dashes and underlines.
    page = paper()
    write(page, "3", 280, 560, 200, 12)
    cv2.ellipse(page, (640, 460), (185, middle_height // 2), 0, 0, 360, 40, 12, cv2.LINE_AA)
    write(page, "4", 880, 560, 200, 12)
    assert recognizer.recognize(jpeg(page)).text == text


def test_a_lone_flat_scribble_is_no_digit(recognizer):
    page = paper()
    cv2.ellipse(page, (640, 460), (185, 75), 0, 0, 360, 40, 12, cv2.LINE_AA)
    assert recognizer.recognize(jpeg(page)).status == NO_DIGIT


def test_a_zero_drawn_in_two_strokes_side_by_side_is_one_digit():
    # A "C" whose ends reach over a ")" beside it: their boxes overlap by 0.7 of the narrower's width.
    mask = np.zeros((480, 640), np.uint8)
    left = np.array([[380, 112], [300, 100], [255, 160], [250, 240], [255, 320], [300, 380], [380, 368]])
    right = np.array([[340, 140], [385, 190], [392, 240], [385, 290], [340, 340]])
    cv2.polylines(mask, [left, right], False, 255, 3)
    found = find_digits(Ink(darkness=mask, mask=mask, inverted=False, lone_lines=[]))
    assert [len(row) for row in found] == [1]


def test_a_zero_is_not_a_frame_around_the_page_edge_it_sits_in():
    # A sheet's top and left edges are one piece whose box has its centre where the 0 was written:
    # the 0 had been taken for a ring drawn around it.
    mask = np.zeros((480, 640), np.uint8)
    cv2.polylines(mask, [np.array([[8, 470], [4, 20], [636, 6]])], False, 255, 3)
    cv2.ellipse(mask, (320, 240), (38, 50), 0, 0, 360, 255, 3)
    rows = find_digits(Ink(darkness=mask, mask=mask, inverted=False, lone_lines=[]))
    assert [[(b.x, b.y) for b in row] for row in rows] == [[(279, 187)]]


def test_digits_written_close_together_are_read_apart():
    page = paper()
    # A 0 and a 1 with 5 px of paper between them: 2.5 px in the half-size working image, which the
    # pixel of growth that keeps a skipped ballpoint stroke whole closes.
    cv2.ellipse(page, (540, 470), (70, 170), 0, 0, 360, 40, 6)
    cv2.line(page, (621, 300), (621, 640), 40, 6)
    rows, _ = blobs_of(page)
    assert [len(row) for row in rows] == [2]


def test_narrow_digits_joined_into_a_run_are_cut_into_as_many_as_fit(recognizer):
    page = paper()
    # Four 0s 0.6 x as wide as tall, each joined to the next by a thin stroke: a run 2.4 x as wide as
    # tall. Cut by digits 0.75 x as wide, it had been read as three, the middle one two 0s.
    for i in range(4):
        x = 400 + 136 * i
        cv2.ellipse(page, (x + 60, 480), (60, 100), 0, 0, 360, 40, 8)
        if i:
            cv2.line(page, (x - 16, 480), (x + 4, 480), 40, 3)
    rows, _ = blobs_of(page)
    assert [len(row) for row in rows] == [4]
    assert recognizer.recognize(jpeg(page)).text == "0000"


def test_a_zero_written_flat_and_open_at_the_top_is_put_back_together(recognizer):
    page = paper()
    # 1.6 x as wide as tall and open at the top: its bottom stroke is a thin neck, and the shapes alone cut it
    # there into "(" and ")", read "62". The network judges the whole one digit and reads it a 0.
    cv2.ellipse(page, (640, 480), (140, 90), 0, -60, 240, 40, 6, cv2.LINE_AA)
    rows, _ = blobs_of(page)
    assert [len(row) for row in rows] == [2]
    assert all(blob.cut_from is rows[0][0].cut_from is not None for blob in rows[0])
    assert recognizer.recognize(jpeg(page)).text == "0"


def test_loops_written_into_each_other_are_two_digits(recognizer):
    page = paper()
    # "100" with its 0s overlapping along a stretch of their sides: no thin neck to cut at, but two loops
    # side by side, which no single digit has.
    cv2.line(page, (330, 330), (330, 630), 40, 8)
    cv2.ellipse(page, (480, 480), (85, 150), 0, 0, 360, 40, 8)
    cv2.ellipse(page, (630, 480), (75, 150), 0, 0, 360, 40, 8)
    assert recognizer.recognize(jpeg(page)).text == "100"


def test_cut_candidates_are_the_columns_with_least_ink_away_from_the_sides():
    inside = np.zeros((40, 60), np.uint8)
    inside[:, 2:26] = 1  # two digits' ink, 40 px tall, joined by a 2 px stroke from column 26 to 33
    inside[:, 34:58] = 1
    inside[19:21, 26:34] = 1
    cuts = cut_candidates(inside)
    assert cuts == sorted(cuts) and all(6 <= cut <= 54 for cut in cuts)  # 0.15 x the height from the sides
    assert any(26 <= cut < 34 for cut in cuts)
    assert all(b - a >= 0.12 * 40 for a, b in zip(cuts, cuts[1:]))


def test_cut_apart_gives_the_pieces_that_could_be_digits():
    inside = np.zeros((40, 60), np.uint8)
    inside[:, 2:26] = 1
    inside[:, 34:58] = 1
    inside[19:21, 26:34] = 1
    blob = Blob(100, 50, 60, 40)
    cuts = [0, 4, 30, 60]
    pieces = cut_apart(blob, inside, cuts)
    assert pieces[(0, 3)] is blob  # the whole blob is a candidate too
    assert (0, 1) not in pieces  # 4 px: narrower than 0.12 x the height
    assert (1, 3) not in pieces  # 56 px: wider than 1.3 x the height
    assert (pieces[(0, 2)].x, pieces[(0, 2)].w, pieces[(2, 3)].x, pieces[(2, 3)].w) == (100, 30, 130, 30)
    assert (pieces[(1, 2)].x, pieces[(1, 2)].w) == (104, 26)


def test_a_zero_with_its_pen_overshooting_across_it_is_one_digit():
    page = paper()
    cv2.ellipse(page, (600, 480), (190, 140), 0, 0, 360, 40, 8)  # wide, so that it is looked at for cuts
    cv2.line(page, (525, 345), (525, 615), 40, 8)  # the pen's stroke across it, top to bottom
    rows, _ = blobs_of(page)
    assert [len(row) for row in rows] == [1]


def test_an_open_four_is_one_digit():
    page = paper()
    # Its bar stops 6 px short of the stem: as close as the 0 and 1 above, but the pieces are not
    # both of a digit's height.
    cv2.polylines(page, [np.array([[560, 300], [500, 520], [628, 520]])], False, 40, 6)
    cv2.line(page, (640, 330), (640, 660), 40, 6)
    rows, _ = blobs_of(page)
    assert [len(row) for row in rows] == [1]


def test_a_nine_whose_loop_stops_short_of_its_stem_is_one_digit():
    page = paper()
    cv2.ellipse(page, (540, 400), (90, 90), 0, 0, 360, 40, 8)  # the loop, 14 px left of the leaning stem
    cv2.line(page, (660, 330), (620, 700), 40, 8)
    rows, scale = blobs_of(page)
    assert [len(row) for row in rows] == [1]
    assert rows[0][0].h * scale > 380 and rows[0][0].x * scale < 500, "loop and stem together"


def test_a_six_whose_stem_stops_short_of_its_loop_is_one_digit(recognizer):
    page = paper()
    # Its box overlaps the loop's by a third: alone, the stem was taken for a line and the loop read 0.
    cv2.line(page, (560, 260), (520, 600), 40, 8)  # the stem, ending 12 px left of the loop
    cv2.ellipse(page, (620, 600), (80, 70), 0, 0, 360, 40, 8)
    rows, scale = blobs_of(page)
    assert [len(row) for row in rows] == [1]
    assert rows[0][0].y * scale < 270 and rows[0][0].bottom * scale > 660, "stem and loop together"
    assert recognizer.recognize(jpeg(page)).text == "6"


def test_a_two_whose_base_is_drawn_apart_keeps_its_base():
    page = paper()
    cv2.ellipse(page, (560, 380), (90, 90), 0, 180, 360, 40, 8)  # the arch
    cv2.line(page, (650, 380), (480, 680), 40, 8)  # the diagonal
    cv2.line(page, (540, 676), (740, 676), 40, 8)  # the base, apart from the diagonal, sticking out right
    rows, scale = blobs_of(page)
    assert [len(row) for row in rows] == [1]
    assert rows[0][0].right * scale > 730, "the base is part of the digit"


def test_a_digit_whose_stroke_broke_halfway_is_one_digit():
    page = paper()
    write(page, "4", 80, 640, 300, 8)
    write(page, "4", 820, 640, 300, 8)
    # A 7 between them, its stroke broken halfway down: two stacked halves, each shorter than a digit.
    cv2.polylines(page, [np.array([[560, 340], [720, 340], [660, 470]])], False, 40, 8)
    cv2.line(page, (650, 500), (600, 640), 40, 8)
    rows, scale = blobs_of(page)
    assert [len(row) for row in rows] == [3]
    assert rows[0][1].h * scale > 280, "both halves of the 7"


def test_a_5_whose_flag_floats_off_to_the_right_is_one_digit():
    page = paper()
    write(page, "4", 80, 640, 300, 8)
    write(page, "4", 960, 640, 300, 8)
    # A 5 between them: a short stem and bowl, and apart above them a flag reaching out to the right.
    cv2.line(page, (570, 440), (578, 550), 40, 8)
    cv2.ellipse(page, (630, 580), (60, 60), 0, -150, 150, 40, 8)
    cv2.line(page, (660, 395), (840, 385), 40, 8)
    rows, scale = blobs_of(page)
    assert [len(row) for row in rows] == [3]
    assert rows[0][1].right * scale > 830 and rows[0][1].y * scale < 395, "the flag is part of the 5"


@pytest.mark.parametrize("table_from", [800, 930])  # a broad table, and a strip thinner than the paper estimate
def test_a_faint_digit_beside_a_dark_table_is_one_digit(table_from):
    page = paper()
    page[table_from:, :] = 35  # the table below the page: its edge is the darkest line in the photo
    cv2.polylines(page, [np.array([[450, 200], [700, 210], [520, 700]])], False, 150, 3)  # a faint, thin 7
    rows, scale = blobs_of(page)
    assert [len(row) for row in rows] == [1]
    assert rows[0][0].h * scale > 450, "the whole stroke, not pieces of it"


@pytest.mark.parametrize("bottom_x", [64, 220])  # upright, and slanting
def test_a_page_edge_is_not_a_one(bottom_x):
    page = paper()
    cv2.line(page, (60, 100), (bottom_x, 800), 30, 4)  # the edge of a page beneath: a long thin line
    write(page, "18", 500, 600, 150, 10)
    rows, _ = blobs_of(page)
    assert [len(row) for row in rows] == [2]
    assert min(b.x for b in rows[0]) > 100


def pen_on(page: np.ndarray, start: tuple[int, int], end: tuple[int, int], thickness: int) -> None:
    """A pen lying on the page: a dark round body with a shine along it."""
    cv2.line(page, start, end, 50, thickness, cv2.LINE_AA)
    cv2.line(page, start, end, 170, max(1, thickness // 6), cv2.LINE_AA)


def test_a_pen_lying_aslant_does_not_take_the_digit_in_its_box(recognizer):
    page = paper()
    pen_on(page, (200, 60), (1100, 900), 26)
    write(page, "5", 300, 800, 150, 10)  # inside the pen's box, far from the pen
    assert recognizer.recognize(jpeg(page)).text == "5"


def test_a_pen_much_longer_than_the_one_beside_it_is_not_a_one(recognizer):
    page = paper()
    pen_on(page, (600, 300), (1150, 700), 24)
    cv2.line(page, (300, 400), (320, 600), 40, 12, cv2.LINE_AA)  # a 1 written as one straight stroke
    assert recognizer.recognize(jpeg(page)).text == "1"
    cv2.line(page, (420, 400), (440, 600), 40, 12, cv2.LINE_AA)
    assert recognizer.recognize(jpeg(page)).text == "11"


def test_a_thick_pen_much_longer_than_the_digits_is_not_a_one(recognizer):
    page = paper()
    pen_on(page, (750, 250), (1000, 600), 80)  # a marker: a fifth as thick as it is long
    write(page, "6", 300, 600, 130, 10)
    assert recognizer.recognize(jpeg(page)).text == "6"


@pytest.mark.parametrize("rise", [160, 190])
def test_a_pen_aslant_beside_the_digits_is_not_a_digit_written_flat(recognizer, rise):
    # Its box is as tall as the digits and 0.37-0.42 as tall as wide, like a 5 written wide.
    page = paper()
    write(page, "38", 200, 600, 200, 12)
    pen_on(page, (600, 640), (1100, 640 - rise), 24)
    assert recognizer.recognize(jpeg(page)).text == "38"


@pytest.mark.parametrize(
    "text, pen_from, pen_to",
    [
        ("7", (150, 150), (1100, 330)),
        ("38", (150, 150), (1100, 330)),
        # Across a corner, running off the photo: most of it lies near the frame's edges, and had not been
        # found as a pen there, so its tip inside set the threshold.
        ("38", (820, 1010), (1330, 800)),
    ],
)
def test_faint_digits_beside_a_dark_pen_are_read(recognizer, text, pen_from, pen_to):
    # The pen is the darkest ink on the page: by it, the threshold had left these digits out.
    page = paper()
    pen_on(page, pen_from, pen_to, 30)
    cv2.putText(page, text, (500, 800), cv2.FONT_HERSHEY_SIMPLEX, 8, 130, 5, cv2.LINE_AA)  # a faint pencil
    assert recognizer.recognize(jpeg(page)).text == text


def test_a_piece_of_a_tilted_page_edge_between_its_breaks_is_not_a_one():
    page = paper()
    # A page edge tilted 4 degrees, broken twice: the pieces at the ends run off the photo.
    for top, bottom in ((0, 300), (360, 600), (660, 960)):
        cv2.line(page, (250 - top * 70 // 960, top), (250 - bottom * 70 // 960, bottom), 30, 3)
    write(page, "8", 600, 600, 250, 12)
    rows, scale = blobs_of(page)
    assert [len(row) for row in rows] == [1]
    assert rows[0][0].x * scale > 500


def test_what_is_left_of_a_page_edge_does_not_join_two_rows():
    # After the paper lines go, a page edge can stay behind as thin dashes that group into one piece
    # far taller than a digit; the digits' height must not be judged by it, or the rows join.
    mask = np.zeros((600, 800), np.uint8)
    cv2.line(mask, (50, 550), (51, 580), 255, 2)
    for top in range(20, 550, 16):
        cv2.line(mask, (50 + top // 40, top), (50 + (top + 11) // 40, top + 11), 255, 2)
    cv2.putText(mask, "391", (300, 250), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 4)
    cv2.putText(mask, "2495", (300, 318), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 4)
    rows = find_digits(Ink(darkness=mask, mask=mask, inverted=False, lone_lines=[]))
    assert [len(row) for row in rows] == [3, 4]
    assert all(b.h < 60 for row in rows for b in row), "each digit alone, not one from each row"


def test_a_page_edge_broken_into_pieces_is_not_ones(recognizer):
    page = paper()
    for top in (80, 330, 580):  # a tilted edge, interrupted where the light catches it
        cv2.line(page, (120 - top // 10, top), (120 - (top + 200) // 10, top + 200), 30, 4)
    assert recognizer.recognize(jpeg(page)).status == NO_DIGIT
    write(page, "11", 500, 600, 200, 12)  # ones side by side stay ones
    assert recognizer.recognize(jpeg(page)).text == "11"


def test_the_crossings_of_faint_squared_paper_are_left_out_of_the_digits(recognizer):
    page = paper()
    for y in range(20, 960, 60):  # all that passes the threshold of faint squared paper: its crossings
        for x in range(20, 1280, 60):
            cv2.circle(page, (x, y), 2, 130, -1)
    # A thin pencil 6 and 9: the specks inside the 6's box had been thickened into an 8's middle.
    cv2.ellipse(page, (640, 600), (80, 70), 0, 0, 360, 120, 2, cv2.LINE_AA)
    cv2.ellipse(page, (720, 560), (160, 220), 0, 180, 265, 120, 2, cv2.LINE_AA)
    cv2.ellipse(page, (940, 420), (80, 70), 0, 0, 360, 120, 2, cv2.LINE_AA)
    cv2.line(page, (1020, 420), (1000, 680), 120, 2, cv2.LINE_AA)
    assert recognizer.recognize(jpeg(page)).text == "69"


@pytest.mark.parametrize("ink, line", [(0.8, 0.84), (0.75, 0.86)])  # share of the light each lets through
def test_a_faint_stroke_running_along_a_squared_papers_line_is_kept(recognizer, ink, line):
    page = paper().astype(np.float32)
    grid, stroke = np.zeros(page.shape, np.uint8), np.zeros(page.shape, np.uint8)
    for x in range(40, 1280, 100):
        cv2.line(grid, (x, 0), (x, 959), 1, 2)
    for y in range(30, 960, 100):
        cv2.line(grid, (0, y), (1279, y), 1, 2)
    # A tall ballpoint 0 whose sides run along two of the lines for some 100 px: it had been cut apart there.
    cv2.ellipse(stroke, (640, 480), (100, 260), 0, 0, 360, 1, 3, cv2.LINE_AA)
    page[grid > 0] *= line
    page[stroke > 0] *= ink
    page = np.clip(page, 0, 255).astype(np.uint8)
    rows, _ = blobs_of(page)
    assert [len(row) for row in rows] == [1]
    assert recognizer.recognize(jpeg(page)).text == "0"


def test_a_piece_of_a_squared_papers_line_broken_off_at_the_photos_edge_is_removed():
    page = paper().astype(np.float32)
    grid = np.zeros(page.shape, np.uint8)
    for x in range(20, 1280, 90):
        cv2.line(grid, (x, 0), (x, 959), 1, 2)
    for y in range(30, 960, 90):
        cv2.line(grid, (0, y), (1279, y), 1, 2)
    grid[380:400, 1064:1104] = 0  # where a digit's stroke broke the line: the piece beyond is short
    page[grid > 0] *= 0.8
    ink = find_ink(decode_image(jpeg(np.clip(page, 0, 255).astype(np.uint8))).gray)
    assert not ink.mask[190:200, 560:].any(), "the piece beyond the break is on the line, and paper too"


def test_blots_are_not_digits():
    page = paper()
    for x in (150, 260, 370):  # a binder's punched holes, or a drawing app's colour swatches
        cv2.circle(page, (x, 150), 45, 30, -1)
    write(page, "3", 560, 640, 220, 12)
    rows, scale = blobs_of(page)
    assert [len(row) for row in rows] == [1]
    assert rows[0][0].x * scale > 500


def mnist_row(
    page: np.ndarray,
    mnist_test,
    labels: tuple[int, ...],
    size: int,
    x: int = 300,
    y: int = 400,
    step: float = 0.8,
    bold: int = 0,
    nth: int = 0,
    sharp: bool = False,
) -> np.ndarray:
    """MNIST test digits (the nth of each label) written in a row from (x, y), `size` px, `step` x size apart;
    `bold`: grown by a pixel that many times at 28 px, as a thick marker writes them; `sharp`: with a pen's edge
    (a couple of pixels of blur), not an enlarged MNIST digit's."""
    for k, label in enumerate(labels):
        index = int(np.flatnonzero(mnist_test.labels.numpy() == label)[nth])
        digit = cv2.dilate(mnist_test.images[index].numpy(), np.ones((3, 3), np.uint8), iterations=bold)
        ink = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
        if sharp:
            ink = cv2.GaussianBlur((ink > 0.5).astype(np.float32), (0, 0), 1.5)
        left = x + round(k * step * size)
        spot = np.s_[y : y + size, left : left + size]
        page[spot] = (page[spot] * (1 - ink) + 40 * ink).astype(np.uint8)
    return page


def test_bold_digits_whose_loops_filled_in_are_read(recognizer, mnist_test):
    # A thick marker: at 640 px the loops of the 8, 0 and 6 fill in, solid as punched holes. Beside a digit as
    # tall, on its line, or beside such a blot, they are digits: "7806" had been read "7", confidently.
    assert recognizer.recognize(jpeg(mnist_row(paper(), mnist_test, (7, 8, 0, 6), 120, bold=2))).text == "7806"
    # Alone, a 0 whose loop is all but filled still encloses paper, which a punched hole does not: had been none.
    assert recognizer.recognize(jpeg(mnist_row(paper(), mnist_test, (0,), 160, bold=2, nth=1))).text == "0"


@pytest.mark.parametrize("label", [0, 4, 7])
def test_a_marker_digit_filling_the_frame_is_read_whole(recognizer, mnist_test, label):
    # Strokes a quarter of the digit's height wide, wider than the paper estimate's closing: their middles had
    # passed for paper and only their sides were ink, outlines read "8", "91" and "0".
    page = mnist_row(paper(), mnist_test, (label,), 624, x=328, y=168, bold=1, nth=1, sharp=True)
    assert recognizer.recognize(jpeg(page)).text == str(label)


@pytest.mark.parametrize("squared", [False, True])
def test_a_strip_cropped_around_a_row_of_digits_keeps_their_strokes(recognizer, mnist_test, squared):
    # A crop around one row: the digits' upright strokes span most of its height, and had been taken for squared
    # paper's lines ("20121624" read "2012624"). Lines from edge to edge still are lines.
    strip = paper(1280, 90)
    if squared:
        strip[:, 7::45] = strip[:, 7::45] * 0.8
    strip = mnist_row(strip, mnist_test, (2, 0, 1, 2, 1, 6, 2, 4), 80, x=320, y=5, step=1)
    assert recognizer.recognize(jpeg(strip)).text == "20121624"


@pytest.mark.parametrize("width, height", [(13, 78), (60, 200)])
def test_a_crop_tight_around_a_one_is_read(recognizer, width, height):
    # The 1 spans most of the crop's length: it had been taken for a margin alone, or for a sheet's outline.
    crop = np.full((height, width), 225, np.uint8)
    crop[height // 12 : height - height // 12, width // 2 - 2 : width // 2 + 2] = 40
    assert recognizer.recognize(jpeg(crop)).text == "1"


def test_a_crop_tight_around_a_digit_in_light_falling_off_across_it_is_read(recognizer):
    # Cut from a photo lit from one corner: the paper around the strokes goes from 225 to 90 grey, a spread much
    # greater than the strokes' contrast, but smooth. Both had been no digit.
    zero, two = np.full((420, 300), 225.0), np.full((420, 300), 225.0)
    cv2.ellipse(zero, (150, 210), (147, 207), 0, 0, 360, 60, 5, cv2.LINE_AA)
    cv2.ellipse(two, (150, 120), (140, 117), 0, 170, 370, 60, 5, cv2.LINE_AA)
    cv2.polylines(two, [np.array([[286, 150], [4, 415], [296, 415]])], False, 60, 5, cv2.LINE_AA)
    ys, xs = np.mgrid[0:420, 0:300]
    light = 1 - 0.3 * (xs / 300 + ys / 420)
    for crop, text in ((zero, "0"), (two, "2")):
        photo = crop * light + np.random.default_rng(0).normal(0, 3, crop.shape)
        assert recognizer.recognize(jpeg(np.clip(photo, 0, 255).astype(np.uint8))).text == text


@pytest.mark.parametrize("size", [28, 280])
def test_a_light_digit_running_off_a_dark_image_is_read(recognizer, mnist_test, size):
    # MNIST test digit 8573, a 7 whose stem reaches the image's bottom edge, white on black as MNIST itself is: the
    # framed look had framed it with the paper estimated as for dark ink, which held the stem, so the stem ran off
    # the framed image too. It had been no digit at every size.
    seven = cv2.resize(mnist_test.images[8573].numpy(), (size, size), interpolation=cv2.INTER_CUBIC)
    assert seven[-1].max() > 128 and recognizer.recognize(cv2.imencode(".png", seven)[1].tobytes()).text == "7"


def test_the_soft_shadow_of_a_pen_held_over_the_page_is_no_digit(recognizer):
    # A stroke of shadow, 30 px wide and blurred by 12: its edges rise over many pixels, ink's over a few. It had
    # been read as a 1, confidently.
    shadow = np.zeros((960, 1280), np.float32)
    cv2.line(shadow, (300, 200), (560, 700), 1.0, 30)
    page = (paper() * (1 - 0.4 * cv2.GaussianBlur(shadow, (0, 0), 12))).astype(np.uint8)
    assert recognizer.recognize(jpeg(page)).status == NO_DIGIT
    write(page, "7", 800, 640, 220, 12)
    assert recognizer.recognize(jpeg(page)).text == "7"


def test_a_dark_digit_filling_the_frame_out_of_focus_is_read(recognizer):
    # A marker's 0 blurred by the photo's focus: its edges as soft as a pen's shadow, but its core far darker than
    # a shadow's, and round, not a bar. It had been no digit.
    page = paper()
    cv2.ellipse(page, (640, 480), (200, 330), 0, 0, 360, 40, 40, cv2.LINE_AA)
    assert recognizer.recognize(jpeg(cv2.GaussianBlur(page, (0, 0), 8))).text == "0"


def test_speckle_the_grown_ink_joins_into_one_piece_is_not_a_digit():
    mask = np.zeros((480, 640), np.uint8)
    mask[100:340:2, 40:280:2] = 255  # 120 x 120 dots a pixel apart: noise, gravel; one piece once grown
    cv2.putText(mask, "7", (380, 330), cv2.FONT_HERSHEY_SIMPLEX, 8, 255, 16)
    rows = find_digits(Ink(mask.copy(), mask, False, []))
    assert [len(row) for row in rows] == [1]
    assert rows[0][0].x > 300, "the 7, not the speckle"


def test_the_pieces_of_a_page_edge_near_its_corner_are_not_a_digit():
    mask = np.zeros((480, 640), np.uint8)
    # A sheet's corner: its left edge runs off the photo's bottom, broken where the rim of "ink" thins; its
    # top edge is a short flat piece. Grouped, they were one "digit" as tall as the edge, and the small 0 on the
    # sheet too small beside it to count.
    cv2.line(mask, (186, 300), (204, 479), 255, 3)
    cv2.line(mask, (168, 130), (185, 290), 255, 3)
    cv2.line(mask, (170, 120), (240, 110), 255, 3)
    cv2.ellipse(mask, (430, 240), (14, 20), 0, 0, 360, 255, 3)
    rows = find_digits(Ink(mask.copy(), mask, False, []))
    assert [len(row) for row in rows] == [1]
    assert rows[0][0].x > 400, "the 0, not the page's corner"


def test_a_faint_margin_in_bits_down_to_the_pages_edge_is_not_ones(recognizer):
    # A development photo (blank, seed 13): a ruled page whose faint margin stops at the page's edge, short of the
    # frame's (no line alone), and breaks into bits between the rules. Followed bit by bit from its top, which runs
    # off the photo, they are left out; they had joined into "1 1".
    photo = render_photo("blank", photo_seed(13, 214), DigitSource.strokes_only())
    assert recognizer.recognize(photo.image).status == NO_DIGIT


def test_grouping_leaves_no_two_pieces_that_belong_together():
    # Many pieces, some wide (a wide piece reaching far right must still be found by those it reaches).
    rng = np.random.default_rng(0)
    boxes = np.column_stack([rng.integers(0, 2000, 3000), rng.integers(0, 300, 3000), rng.integers(1, 40, 3000)])

    def piece(x: int, y: int, w: int, h: int) -> Blob:  # ink filling its box
        return Blob(
            x, y, w, h, [np.array([[[x, y]], [[x + w - 1, y]], [[x + w - 1, y + h - 1]], [[x, y + h - 1]]], np.int32)]
        )

    pieces = [
        piece(int(x), int(y), int(w) * (8 if i % 97 == 0 else 1), int(rng.integers(1, 40)))
        for i, (x, y, w) in enumerate(boxes)
    ]
    grouped = segment._group(pieces)
    assert 0 < len(grouped) < len(pieces)
    for i, earlier in enumerate(grouped):
        for later in grouped[i + 1 :]:
            assert not segment._belong_together(earlier, later), (earlier, later)


@pytest.mark.parametrize("light_on_dark", [False, True])
def test_a_bold_one_slanting_across_the_frame_is_not_a_blot(recognizer, light_on_dark):
    page = paper()
    cv2.line(page, (380, 820), (780, 180), 30, 48, cv2.LINE_AA)  # its box is nearly square
    assert recognizer.recognize(jpeg(255 - page if light_on_dark else page)).text == "1"


def test_dots_well_below_a_digit_are_not_part_of_it():
    page = paper()
    write(page, "7", 560, 700, 400, 14)
    for x in (560, 620, 680):  # a drawing app's palette, 70 px below the digit: three and a half dots
        cv2.circle(page, (x, 780), 10, 40, -1)
    rows, scale = blobs_of(page)
    assert [len(row) for row in rows] == [1]
    assert rows[0][0].bottom * scale < 720, "the digit's box ends at the digit"


def test_a_grey_stroke_on_a_black_canvas_is_read(recognizer):
    canvas = np.full((960, 1280), 12, np.uint8)  # a dark drawing app, its pen a dim grey
    cv2.putText(canvas, "4", (560, 620), cv2.FONT_HERSHEY_SIMPLEX, 12, 55, 8, cv2.LINE_AA)
    assert recognizer.recognize(jpeg(canvas)).text == "4"


@pytest.mark.parametrize("extension", [".png", ".jpg"])  # a screenshot sent as a file, or as a photo (JPEG)
def test_a_blue_pen_on_a_black_canvas_is_read(recognizer, extension):
    canvas = np.full((960, 1280, 3), 10, np.uint8)  # a drawing app's screenshot, a saturated blue pen
    cv2.putText(canvas, "4", (560, 620), cv2.FONT_HERSHEY_SIMPLEX, 12, (255, 0, 0), 20, cv2.LINE_AA)
    assert recognizer.recognize(cv2.imencode(extension, canvas)[1].tobytes()).text == "4"


def test_grain_of_a_dark_board_is_not_read_as_ones(recognizer):
    found = 0
    for seed in range(6):  # dim, streaky grain: what a grey pen on a clean canvas is allowed, grain is not
        grain = cv2.GaussianBlur(np.random.default_rng(seed).normal(0, 1, (960, 1280)), (0, 0), sigmaX=2, sigmaY=40)
        board = np.clip(45 + 10 * grain / grain.std(), 0, 255).astype(np.uint8)
        found += recognizer.recognize(jpeg(board)).status != NO_DIGIT
    assert found <= 1


def test_a_digit_filling_a_portrait_photo_is_read(recognizer):
    page = paper(width=960, height=1280)  # phones shoot portrait: the digit is taller than the photo is wide
    cv2.polylines(page, [np.array([[220, 120], [760, 120], [420, 1160]])], False, 40, 14)
    assert recognizer.recognize(jpeg(page)).text == "7"


def test_small_digits_close_together_are_read_at_full_resolution(recognizer):
    page = paper()
    # A 0 and a 1, 80 px tall (8 % of the frame), 4 px apart: 2 px in the half-size working image,
    # where the shrunk strokes run into each other.
    cv2.ellipse(page, (600, 500), (18, 40), 0, 0, 360, 40, 3)
    cv2.line(page, (626, 460), (626, 540), 40, 3)
    result = recognizer.recognize(jpeg(page))
    assert result.text == "01"
    x, y, w, h = result.digits[1].box  # in the original photo's pixels
    assert 620 <= x <= 627 and 454 <= y <= 462 and 78 <= h <= 90


def test_small_digits_the_first_look_misses_are_found_at_full_resolution(recognizer):
    # 2.5-4 % of the frame high, a ballpoint's width. Before, the 8 of 803 vanished at 640 px and the second
    # look, at full resolution, took in too little around the 03 to find it ("03"); the others were under
    # the smallest digit size looked for (no digit).
    for text, height in (("803", 36), ("25", 32), ("31", 28), ("7", 24)):
        page = paper()
        write(page, text, 560, 500, height, 3)
        assert recognizer.recognize(jpeg(page)).text == text


def test_small_digits_with_loops_are_not_taken_for_punched_holes(recognizer):
    # 3-4 % of the frame high in ballpoint: at 640 px their loops fill in, solid as a punched hole;
    # the look at full resolution tells them apart. Before, none of these was found.
    for text, height in (("69", 32), ("88", 36), ("906", 40)):
        page = paper()
        write(page, text, 560, 500, height, 3)
        assert recognizer.recognize(jpeg(page)).text == text
    for radius in (10, 15):  # a binder's holes, as small: they had been read as 0s
        page = paper()
        for y in (200, 480, 760):
            cv2.circle(page, (60, y), radius, 40, -1)
        assert recognizer.recognize(jpeg(page)).status == NO_DIGIT
        write(page, "42", 560, 500, 40, 3)
        assert recognizer.recognize(jpeg(page)).text == "42"


# Blank synthetic photos (benchmark seed, photo) where a second look at the photo framed by its paper finds
# page outlines, table edges, squared paper and a fold running off the photo: none is a digit filling the frame.
FRAMED_FALSE_DIGITS = [(7, 3), (7, 14), (7, 25), (7, 99), (7, 114), (7, 247), (13, 41)]


def test_page_and_table_edges_running_off_a_blank_photo_are_no_digit(recognizer):
    for seed, index in FRAMED_FALSE_DIGITS:
        photo = render_photo("blank", photo_seed(seed, index), DigitSource.strokes_only())
        assert recognizer.recognize(photo.image).status == NO_DIGIT, (seed, index)


@pytest.mark.parametrize("index, fx, fy", [(26, 0.4, 0.4), (244, 1.0, 0.7)], ids=["small", "squashed"])
def test_a_page_edge_beside_a_digit_filling_the_frame_is_not_a_one(recognizer, mnist_test, index, fx, fy):
    # Development photos (seed 13) of a digit beside a page edge on wood, shrunk, or squashed as a page at a slant
    # is: a plane fitted to the paper around the edge took up its step, and the framed look read it as a 1.
    photo = render_photo("single", photo_seed(13, index), default_source())
    image = cv2.imdecode(np.frombuffer(photo.image, np.uint8), cv2.IMREAD_COLOR)
    image = cv2.resize(image, None, fx=fx, fy=fy, interpolation=cv2.INTER_AREA)
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])[1].tobytes()
    assert recognizer.recognize(data).text == photo.text


def test_blank_pages_are_no_digit(recognizer):
    for ruled in (False, True):
        assert recognizer.recognize(jpeg(paper(ruled=ruled))).status == NO_DIGIT


def test_mnist_style_digit_has_mnist_stroke_and_centre_of_mass():
    widths = []
    for stroke in (2, 6, 40):  # hairline ballpoint to marker on a 400 px digit
        canvas = np.zeros((460, 300), np.uint8)
        seven = np.array([[40, 40], [260, 40], [120, 420]], np.int32)
        cv2.polylines(canvas, [seven], False, 255, stroke, cv2.LINE_AA)
        canvas = canvas.astype(np.float32) / 255
        ys, xs = np.nonzero(canvas)
        digit = mnist_style(canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
        assert digit.shape == (28, 28) and digit.dtype == np.uint8
        width = stroke_width((digit > 127).astype(np.uint8))
        assert 1.6 <= width <= 3.6, f"stroke {stroke}px became {width:.2f}px"
        widths.append(width)
        rows, columns = np.indices(digit.shape)
        mass = digit.astype(np.float64)
        centre = ((mass * rows).sum() / mass.sum(), (mass * columns).sum() / mass.sum())
        assert abs(centre[0] - 14.0) <= 1 and abs(centre[1] - 14.0) <= 1  # MNIST's mean: (13.99, 14.00)
        ys, xs = np.nonzero(digit)
        assert ys.max() - ys.min() + 1 <= 21 and xs.max() - xs.min() + 1 <= 21
    assert max(widths) - min(widths) <= 0.8, f"pens of 2, 6 and 40 px became {widths}"


def test_mnist_style_of_ink_that_fades_when_resampled_is_empty_not_an_error():
    # A lattice of single dots over a faint band: its stroke estimate is huge, and nothing passes the
    # threshold once shrunk (it had raised ZeroDivisionError).
    ink = np.zeros((200, 200), np.float32)
    ink[::7, ::7] = 1.0
    ink[50:60, :] = 0.45
    digit = mnist_style(ink)
    assert digit.shape == (28, 28) and digit.dtype == np.uint8 and not digit.any()


def test_boxes_are_in_original_photo_coordinates(recognizer):
    page = paper()
    write(page, "1", 600, 700, 300, 14)
    result = recognizer.recognize(jpeg(page))
    assert len(result.digits) == 1
    x, y, w, h = result.digits[0].box
    assert 560 <= x <= 680 and 380 <= y <= 440 and 250 <= h <= 340
