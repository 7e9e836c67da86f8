"""The synthetic photo generator: deterministic, decodable, and honest about text and digit boxes."""

import math
import re

import cv2
import numpy as np
import pytest

from preprocessing.synthetic import (
    KINDS,
    NOT_ONE_DIGIT,
    ONE_DIGIT,
    DigitSource,
    SyntheticPhoto,
    _piece_label,
    _segment_distance,
    cropped_to_digits,
    glyph_ink,
    make_photos,
    mnist_glyph,
    piece_crops,
    render_photo,
    training_crops,
)

STROKES = DigitSource.strokes_only()
TEXT_FORMATS = {
    "single": r"\d",
    "number": r"\d{2,6}",
    "two_rows": r"\d{1,4} \d{1,4}",
    "blank": r"",
    "inverted": r"\d{1,3}",
    "touching": r"\d{2,4}",
    "tilted": r"\d{2,6}",
    "with_pen": r"\d{1,4}",
    "marked": r"\d{1,4}",
}


def _check(photo: SyntheticPhoto) -> None:
    image = cv2.imdecode(np.frombuffer(photo.image, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    assert image.shape == (photo.height, photo.width, 3)
    assert re.fullmatch(TEXT_FORMATS[photo.kind], photo.text), photo.text
    assert len(photo.boxes) == len(photo.text.replace(" ", ""))
    for x, y, w, h in photo.boxes:
        assert 0 <= x and 0 <= y and w > 0 and h > 0
        assert x + w <= photo.width and y + h <= photo.height


def test_same_seed_gives_identical_bytes():
    for kind in KINDS:
        first, second = render_photo(kind, 7, STROKES), render_photo(kind, 7, STROKES)
        assert first.image == second.image
        assert (first.text, first.boxes) == (second.text, second.boxes)


def test_different_seeds_give_different_photos():
    for kind in KINDS:
        assert render_photo(kind, 1, STROKES).image != render_photo(kind, 2, STROKES).image


def test_make_photos_is_render_photo_with_derived_seeds():
    photos = make_photos("number", 3, seed=5, digits=STROKES)
    assert [p.image for p in photos] == [p.image for p in make_photos("number", 3, seed=5, digits=STROKES)]
    assert len({p.image for p in photos}) == 3
    assert photos[0].image != make_photos("number", 1, seed=6, digits=STROKES)[0].image


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_decodes_with_its_text_and_boxes(kind):
    for photo in make_photos(kind, 3, seed=3, digits=STROKES):
        assert photo.kind == kind
        _check(photo)


def test_blank_has_no_text_and_no_boxes():
    for photo in make_photos("blank", 2, digits=STROKES):
        assert photo.text == "" and photo.boxes == []


def test_boxes_are_in_reading_order():
    for photo in make_photos("number", 3, seed=11, digits=STROKES):
        centres = [x + w / 2 for x, _, w, _ in photo.boxes]
        assert centres == sorted(centres)
    for photo in make_photos("two_rows", 3, seed=11, digits=STROKES):
        top = len(photo.text.split()[0])
        upper, lower = photo.boxes[:top], photo.boxes[top:]
        assert max(y + h / 2 for _, y, _, h in upper) < min(y + h / 2 for _, y, _, h in lower)


def test_a_photo_cut_to_its_digits_keeps_them_and_a_margin_around():
    for photo in make_photos("number", 3, seed=11, digits=STROKES):
        cut = cropped_to_digits(photo, 0.1)
        _check(cut)
        assert cut.text == photo.text and [(w, h) for *_, w, h in cut.boxes] == [(w, h) for *_, w, h in photo.boxes]
        left, top = min(x for x, *_ in photo.boxes), min(y for _, y, *_ in photo.boxes)
        around = round(0.1 * (max(y + h for _, y, _, h in photo.boxes) - top))
        assert min(x for x, *_ in cut.boxes) == min(left, around)
        assert min(y for _, y, *_ in cut.boxes) == min(top, around)
        assert cut.width < photo.width


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError):
        render_photo("sideways", 0, STROKES)


def test_mnist_digits_render(mnist_digits):
    for kind in ("single", "number", "two_rows", "inverted"):
        for photo in make_photos(kind, 1, seed=1, digits=mnist_digits):
            _check(photo)
    assert render_photo("number", 4, mnist_digits).image == render_photo("number", 4, mnist_digits).image


def test_a_digit_that_thins_to_a_dot_is_not_drawn(mnist_test):
    # An 8 written as one solid blob thins to a single pixel: drawn, it was a photo of nothing labelled 8.
    assert mnist_glyph(mnist_test.images[7845].numpy()) is None


@pytest.mark.parametrize("index", [2582, 947])
def test_a_digit_the_trace_would_draw_as_another_is_not_drawn(index, mnist_test):
    # 2582: a 9 whose small loop the trace fills in (drawn, a 7); 947: a bold 8 whose waist the trace
    # loses (drawn, a 0).
    assert mnist_glyph(mnist_test.images[index].numpy()) is None


def test_glyph_ink_draws_the_glyph_upright_at_the_height_asked():
    ring = cv2.circle(np.zeros((28, 28), np.uint8), (14, 14), 8, 255, 2)
    ink = glyph_ink(mnist_glyph(ring), height=100, pen=0.07)
    assert ink.dtype == np.float32 and ink.max() == 1.0
    assert 100 <= ink.shape[0] <= 112 and abs(ink.shape[1] - ink.shape[0]) <= 3  # plus the pen's width
    assert ink[ink.shape[0] // 2, ink.shape[1] // 2] == 0  # a ring, not a disc


def test_training_crops_are_labelled_pipeline_images():
    seeds = list(range(12))
    images, labels = training_crops(seeds, STROKES)
    assert images.dtype == np.uint8 and images.shape == (len(labels), 28, 28)
    assert len(labels) >= len(seeds) and set(labels) <= set(range(10))
    again, _ = training_crops(seeds, STROKES)
    assert np.array_equal(images, again)


def test_pieces_are_labelled_by_whose_ink_they_hold():
    # Two digits' ink by column: the first in columns 0-9, the second in 10-19.
    ink = np.zeros((2, 20), np.int64)
    ink[0, :10] = 5
    ink[1, 10:] = 5
    assert _piece_label(ink, 0, 10) == ONE_DIGIT
    assert _piece_label(ink, 0, 11) == ONE_DIGIT  # a sliver of the neighbour
    assert _piece_label(ink, 0, 20) == NOT_ONE_DIGIT  # both
    assert _piece_label(ink, 0, 5) == NOT_ONE_DIGIT  # half of one
    assert _piece_label(ink, 0, 13) is None  # a third of the neighbour: neither


def test_piece_crops_hold_both_labels():
    images, labels = piece_crops(list(range(6)), STROKES)
    assert images.dtype == np.uint8 and images.shape == (len(labels), 28, 28)
    assert set(labels) == {ONE_DIGIT, NOT_ONE_DIGIT}


@pytest.mark.parametrize("hershey", [True, False])
def test_hershey_fonts_can_be_left_out(hershey):
    digits, rng = DigitSource(hershey=hershey), np.random.default_rng(0)
    for label in range(10):
        for _ in range(20):
            digits.glyph(label, rng)
    assert any(key[0] == "hershey" for key in digits._cache) == hershey


def test_the_pen_lying_on_the_page_is_measured_from_the_digits_boxes():
    box = (100.0, 100.0, 200.0, 300.0)
    assert _segment_distance(box, np.array([0.0, 0.0]), np.array([400.0, 400.0])) == 0  # across the box
    assert _segment_distance(box, np.array([250.0, 0.0]), np.array([250.0, 500.0])) == pytest.approx(50)
    assert _segment_distance(box, np.array([0.0, 350.0]), np.array([50.0, 350.0])) == pytest.approx(math.hypot(50, 50))
