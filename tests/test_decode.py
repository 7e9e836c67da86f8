"""Decoding every accepted format, and refusing every bad input with the right error."""

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from preprocessing.decode import (
    MAX_FILE_BYTES,
    WORK_LONG_SIDE,
    CorruptImage,
    FileTooLarge,
    ImageError,
    ImageTooSmall,
    ImageTooThin,
    NotAnImage,
    TooManyPixels,
    decode_image,
)


def marked_picture(width: int = 300, height: int = 200) -> np.ndarray:
    """Light grey RGB picture with a black square in the top-left corner, to check orientation."""
    picture = np.full((height, width, 3), 220, np.uint8)
    picture[10:60, 10:60] = 0
    return picture


def encode(picture: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, fmt, **options)
    return buffer.getvalue()


def assert_mark_top_left(gray: np.ndarray) -> None:
    height, width = gray.shape
    assert gray[: height // 5, : width // 5].mean() < 120, "the dark mark should be top left"
    assert gray[height // 2 :, width // 2 :].mean() > 180


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_every_format_decodes(fmt):
    decoded = decode_image(encode(marked_picture(), fmt))
    assert decoded.gray.dtype == np.uint8 and decoded.gray.shape == (200, 300)
    assert (decoded.width, decoded.height) == (300, 200)
    assert_mark_top_left(decoded.gray)


def test_gif_uses_the_first_frame():
    first, second = marked_picture(), np.full((200, 300, 3), 255, np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(first).save(buffer, "GIF", save_all=True, append_images=[Image.fromarray(second)])
    assert_mark_top_left(decode_image(buffer.getvalue()).gray)


def test_grayscale_16_bit_and_cmyk():
    gray16 = (marked_picture()[:, :, 0].astype(np.uint16) * 257).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(gray16).save(buffer, "PNG")
    assert_mark_top_left(decode_image(buffer.getvalue()).gray)
    assert_mark_top_left(decode_image(encode(marked_picture()[:, :, 0], "PNG")).gray)
    cmyk = Image.fromarray(marked_picture()).convert("CMYK")
    buffer = io.BytesIO()
    cmyk.save(buffer, "JPEG")
    assert_mark_top_left(decode_image(buffer.getvalue()).gray)


def test_alpha_is_flattened_so_the_drawing_stays_visible():
    # A drawing app's export: white strokes on a fully transparent canvas.
    rgba = np.zeros((200, 300, 4), np.uint8)
    rgba[10:60, 10:60] = 255
    gray = decode_image(encode(rgba, "PNG")).gray
    assert gray[10:60, 10:60].mean() > 200 and gray[100:, 100:].mean() < 50
    # Black strokes on a transparent canvas.
    rgba[10:60, 10:60] = (0, 0, 0, 255)
    gray = decode_image(encode(rgba, "PNG")).gray
    assert gray[10:60, 10:60].mean() < 50 and gray[100:, 100:].mean() > 200


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_is_applied(orientation):
    # Store the picture turned or mirrored the other way, with the tag that undoes it.
    undo = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }
    stored = Image.fromarray(marked_picture()).transpose(undo[orientation])
    exif = stored.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif)
    decoded = decode_image(buffer.getvalue())
    assert decoded.gray.shape == (200, 300)
    assert_mark_top_left(decoded.gray)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_turns_every_pixel_as_pillow_does(orientation):
    pattern = np.random.default_rng(orientation).integers(0, 256, (200, 300), dtype=np.uint8)
    stored = Image.fromarray(pattern)
    exif = stored.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "PNG", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue()))))
    assert np.array_equal(decode_image(buffer.getvalue()).gray, expected)


def test_large_photo_is_shrunk_early_and_scale_maps_back():
    ok, jpeg = cv2.imencode(".jpg", cv2.resize(marked_picture(), (2560, 1920)))
    decoded = decode_image(jpeg.tobytes())
    assert max(decoded.gray.shape) <= WORK_LONG_SIDE * 1.5
    assert decoded.gray.shape[1] * decoded.scale == pytest.approx(2560)


def test_zero_bytes_text_and_garbage_are_not_images():
    for data in (b"", b"hello, this is a text file named photo.jpg\n" * 20, bytes(range(256)) * 10):
        with pytest.raises(NotAnImage):
            decode_image(data)


def test_truncated_jpeg_png_and_tiff_are_corrupt():
    ok, jpeg = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8))
    with pytest.raises(CorruptImage):
        decode_image(jpeg.tobytes()[: len(jpeg) // 2])
    for fmt in ("PNG", "TIFF"):
        data = encode(np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8), fmt)
        with pytest.raises(CorruptImage):
            decode_image(data[: len(data) // 2])


def test_corrupt_jpeg_body():
    ok, jpeg = cv2.imencode(".jpg", marked_picture())
    data = bytearray(jpeg.tobytes())
    data[200:600] = b"\xff" * 400  # wreck the scan data, keep header and end marker
    with pytest.raises(CorruptImage):
        decode_image(bytes(data))


def test_tiny_image_is_refused():
    with pytest.raises(ImageTooSmall, match="1×1"):
        decode_image(encode(np.zeros((1, 1, 3), np.uint8), "PNG"))
    with pytest.raises(ImageTooSmall, match="15×15"):
        decode_image(encode(np.zeros((15, 15, 3), np.uint8), "PNG"))


def test_an_image_narrower_than_16_px_is_widened_with_its_paper():
    # A crop tight around a 1: 13 px wide had been refused as too small to hold a digit.
    crop = np.full((78, 13), 220, np.uint8)
    crop[10:68, 5:8] = 40
    decoded = decode_image(encode(crop, "PNG"))
    assert decoded.gray.shape == (78, 16) and decoded.scale == 1
    assert (decoded.gray[:, :13] == crop).all() and (decoded.gray[:, 13:] == 220).all()


@pytest.mark.parametrize("height, width", [(20, 40_000), (5000, 16)])
def test_a_long_thin_strip_is_refused_not_a_crash(height, width):
    # 40,000 x 20 shrinks to 640 x 0.3 px at the working size, which OpenCV's resize refused with an exception.
    with pytest.raises(ImageTooThin, match="crop it closer"):
        decode_image(encode(np.full((height, width, 3), 230, np.uint8), "PNG"))


def png_claiming_size(width: int, height: int) -> bytes:
    """A few-byte PNG whose header claims width x height: a decompression bomb's calling card."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "width, height, message",
    # Past Pillow's own decompression-bomb limit; past only this project's 40 megapixels.
    [(50_000, 50_000, "far more than 40 megapixels"), (8000, 6000, r"48 megapixels\); the limit is 40")],
)
def test_huge_dimensions_are_refused_before_decoding(width, height, message):
    with pytest.raises(TooManyPixels, match=message):
        decode_image(png_claiming_size(width, height))


def test_file_over_the_size_limit_is_refused():
    with pytest.raises(FileTooLarge, match="20 MB"):
        decode_image(b"\xff\xd8" + b"\0" * MAX_FILE_BYTES)


@pytest.mark.filterwarnings("ignore:Truncated File Read")  # Pillow, on a TIFF whose tag directory was cut
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_damaged_files_are_decoded_or_refused_never_a_crash(fmt):
    original = encode(marked_picture(), fmt)
    rng = np.random.default_rng(0)
    for _ in range(150):
        data = bytearray(original)
        damage = rng.integers(4)
        if damage == 0:  # bytes changed anywhere
            for at in rng.integers(0, len(data), rng.integers(1, 20)):
                data[at] = rng.integers(256)
        elif damage == 1:  # the header damaged
            at = rng.integers(0, min(len(data), 200))
            data[at : at + 4] = rng.bytes(4)
        elif damage == 2:  # cut short
            data = data[: rng.integers(1, len(data))]
        else:  # a piece spliced out
            start, end = sorted(rng.integers(0, len(data), 2))
            data = data[:start] + data[end:]
        try:
            decoded = decode_image(bytes(data))
        except ImageError as error:
            assert str(error), "a refusal says why"
        else:
            assert decoded.gray.dtype == np.uint8 and decoded.gray.ndim == 2


def test_a_dark_jpeg_screenshot_keeps_its_coloured_strokes_and_a_dim_photo_its_luma():
    screen = np.zeros((480, 640, 3), np.uint8)  # BGR: a saturated blue pen on a drawing app's black canvas
    cv2.line(screen, (200, 100), (400, 380), (255, 0, 0), 12)
    dim_page = np.full((480, 640, 3), (60, 80, 100), np.uint8)  # warm evening light; a red pen
    cv2.line(dim_page, (200, 100), (400, 380), (30, 30, 90), 12)
    for picture, coloured in ((screen, True), (dim_page, False)):
        data = cv2.imencode(".jpg", picture)[1].tobytes()
        luma = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        gray = decode_image(data).gray
        assert gray.shape == luma.shape
        if coloured:
            assert gray[240, 300] > luma[240, 300] + 80, "the blue stroke stands out from the black"
        else:
            assert np.array_equal(gray, luma), "a dim photo of paper is read as its luma"
