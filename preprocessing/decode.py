"""Safe decoding of untrusted image bytes into a small grayscale working image.

Limits are checked from the header before any pixel is allocated, so a 50,000 x
50,000 PNG of a few kilobytes (a decompression bomb) is refused without cost.
JPEG, the common case, is decoded by libjpeg at 1/2, 1/4 or 1/8 scale directly
(DCT scaling), which is several times faster than decoding it whole and then
shrinking. Everything else goes through Pillow, which handles alpha, 16-bit,
CMYK, palettes and the first frame of a GIF. Tiny images (an MNIST digit itself) are
enlarged: the ink finder works at a quarter of the size, and 7 px is no room.
"""

import io
import math
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 16  # shorter than this cannot hold a readable digit; a narrower image is widened with its paper
MAX_ASPECT = 20  # a strip longer than this times its width would shrink to a line at the working size
WORK_LONG_SIDE = 640  # the working image's long side: enough for a digit 5 % of the frame high
MIN_WORK_SIDE = 64  # smaller images (an MNIST digit, an icon) are enlarged to this long side or more

DARK_PHOTO = 90  # a colour JPEG whose mean grey is below this may be a screen: its colours are decoded too
BRIGHTER_IN_COLOUR = 40  # ... and used when they make its brightest details this much brighter than luma

_REDUCED_GRAYSCALE = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
                      4: cv2.IMREAD_REDUCED_GRAYSCALE_4, 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}  # fmt: skip
_REDUCED_COLOR = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                  4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}  # fmt: skip
_EXIF_ORIENTATION = 0x0112


class ImageError(ValueError):
    """An input that is not a usable image; str() is a message fit for the user."""


class FileTooLarge(ImageError):
    pass


class TooManyPixels(ImageError):
    pass


class NotAnImage(ImageError):
    pass


class CorruptImage(ImageError):
    pass


class ImageTooThin(ImageError):
    pass


class ImageTooSmall(ImageError):
    pass


@dataclass
class DecodedImage:
    gray: np.ndarray  # working image, uint8, long side at most about 1.5 x the long side asked for
    scale: float  # original pixels per working pixel
    width: int  # the original's size after EXIF orientation
    height: int


def _open_header(data: bytes) -> Image.Image:
    if len(data) == 0:
        raise NotAnImage("the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about large images; we check them ourselves
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise NotAnImage("this is not an image I can read (JPEG, PNG, WebP, BMP, TIFF or GIF)") from None
    except Image.DecompressionBombError:
        raise TooManyPixels(f"the image has far more than {MAX_PIXELS // 1_000_000} megapixels") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise CorruptImage(f"the image is damaged and cannot be read ({error})") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise TooManyPixels(
            f"the image is {width}×{height} px ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {MAX_PIXELS // 1_000_000} megapixels"
        )
    if max(width, height) < MIN_SIDE:
        raise ImageTooSmall(f"the image is only {width}×{height} px; a digit needs at least {MIN_SIDE} px")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageTooThin(
            f"the image is {width}×{height} px, more than {MAX_ASPECT} times as long as it is wide; "
            "crop it closer around the digits"
        )
    return image


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation tag, 1 (upright) when absent."""
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception as error:  # reading a PNG's EXIF loads the image, which may be truncated
        raise CorruptImage(f"the image is damaged and cannot be decoded ({type(error).__name__})") from None
    return orientation if orientation in range(1, 9) else 1


def _apply_orientation(gray: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip as the EXIF orientation tag (1-8) says."""
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: a.T,
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].T,
        8: lambda a: np.rot90(a, 1),
    }
    transform = transforms.get(orientation)
    return np.ascontiguousarray(transform(gray)) if transform else gray


def _decode_jpeg(data: bytes, image: Image.Image, long_side: int) -> np.ndarray:
    # A JPEG cut short still "decodes" (grey bottom rows), so check for the end-of-image marker;
    # FF D9 cannot occur inside entropy-coded data, so finding it near the end is reliable.
    if b"\xff\xd9" not in data[-2048:]:
        raise CorruptImage("the JPEG file is truncated (did the upload finish?)")
    factor = 1
    while factor < 8 and max(image.size) / (factor * 2) >= long_side:
        factor *= 2
    buffer = np.frombuffer(data, np.uint8)
    gray = cv2.imdecode(buffer, _REDUCED_GRAYSCALE[factor] | cv2.IMREAD_IGNORE_ORIENTATION)
    if gray is None:
        raise CorruptImage("the JPEG image is damaged and cannot be decoded")
    if image.mode == "RGB" and cv2.mean(gray)[0] < DARK_PHOTO:
        return _brought_out_by_colour(gray, buffer, factor)
    return gray


def _brought_out_by_colour(luma: np.ndarray, buffer: np.ndarray, factor: int) -> np.ndarray:
    """A dark JPEG's colours turned grey as other images' are, when that makes its brightest details clearly
    brighter; else its luma. Luma is all a photo of paper needs, and the cheapest decode. But a screenshot of
    a drawing app sent as a photo arrives as a JPEG too, and on its dark canvas a saturated blue pen is all
    but black in luma. A dim photo of paper and a blackboard's chalk keep their luma."""
    brightest = np.percentile(luma[::2, ::2], 99.9)
    if brightest >= 255 - 2 * BRIGHTER_IN_COLOUR:  # half luma, half a channel of at most 255 cannot gain enough
        return luma
    bgr = cv2.imdecode(buffer, _REDUCED_COLOR[factor] | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        return luma
    mixed = _gray_of_colour(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return mixed if np.percentile(mixed[::2, ::2], 99.9) > brightest + BRIGHTER_IN_COLOUR else luma


def _gray_of_colour(rgb: np.ndarray) -> np.ndarray:
    """Half luma, half the brightest channel: luma alone all but loses a saturated blue pen on a dark
    canvas (blue weighs 11 % in it), the brightest channel alone a red pen on white paper."""
    red, green, blue = cv2.split(rgb)
    brightest = cv2.max(cv2.max(red, green), blue)
    return cv2.addWeighted(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 0.5, brightest, 0.5, 0)


def _decode_with_pillow(image: Image.Image) -> np.ndarray:
    try:
        image.seek(0)  # first frame of an animation
        image.load()
    except Exception as error:  # Pillow raises many types for damaged files
        raise CorruptImage(f"the image is damaged and cannot be decoded ({type(error).__name__})") from None
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max() > 255 else 255.0
        return np.clip(array * (255.0 / top), 0, 255).astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"))
        gray = cv2.cvtColor(rgba[:, :, :3], cv2.COLOR_RGB2GRAY).astype(np.float32)
        alpha = rgba[:, :, 3].astype(np.float32) / 255
        # Flatten onto the background that contrasts with what is drawn: a drawing app's
        # white strokes on a transparent canvas must not vanish on white.
        visible = alpha > 0.5
        drawn_is_light = visible.any() and gray[visible].mean() > 128
        background = 0.0 if drawn_is_light else 255.0
        return (gray * alpha + background * (1 - alpha)).astype(np.uint8)
    if image.mode != "RGB":
        return np.asarray(image.convert("L"))
    return _gray_of_colour(np.asarray(image))


def decode_image(data: bytes, long_side: int = WORK_LONG_SIDE) -> DecodedImage:
    """Bytes of a photo or image file -> grayscale working image about `long_side` px long, or an ImageError."""
    image = _open_header(data)
    orientation = _orientation(image)
    if image.format == "JPEG" and image.mode in ("L", "RGB"):
        gray = _decode_jpeg(data, image, long_side)
    else:
        gray = _decode_with_pillow(image)
    gray = _apply_orientation(gray, orientation)
    height, width = gray.shape
    if max(height, width) > long_side * 1.5:  # shrink what the DCT could not
        shrink = long_side / max(height, width)
        gray = cv2.resize(gray, (round(width * shrink), round(height * shrink)), interpolation=cv2.INTER_AREA)
    elif max(height, width) < MIN_WORK_SIDE:  # an icon-sized drawing, an MNIST digit: room for the ink finder
        grow = math.ceil(MIN_WORK_SIDE / max(height, width))
        gray = cv2.resize(gray, (width * grow, height * grow), interpolation=cv2.INTER_CUBIC)
    original_width, original_height = image.size if orientation < 5 else image.size[::-1]
    return DecodedImage(_widened(gray), original_width / gray.shape[1], original_width, original_height)


def _widened(gray: np.ndarray) -> np.ndarray:
    """An image narrower than MIN_SIDE (a crop tight around a 1) continued with its paper (its edges' median
    grey) on the right or below, where the coordinates of what it holds stay as they were."""
    height, width = gray.shape
    if min(height, width) >= MIN_SIDE:
        return gray
    paper = int(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    below, right = max(0, MIN_SIDE - height), max(0, MIN_SIDE - width)
    return cv2.copyMakeBorder(gray, 0, below, 0, right, cv2.BORDER_CONSTANT, value=paper)
