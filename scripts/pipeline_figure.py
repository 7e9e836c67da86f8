"""Draw the README's pipeline picture: a photo, the digits found on it, the 28x28 images the model saw.

python scripts/pipeline_figure.py                       # a synthetic photo -> scripts/examples/pipeline.jpg
python scripts/pipeline_figure.py my_photo.jpg --out /tmp/pipeline.png
"""

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from preprocessing.recognize import Recognizer  # noqa: E402
from preprocessing.synthetic import default_source, render_photo  # noqa: E402

HEIGHT = 360


def panel(picture: np.ndarray, title: str) -> np.ndarray:
    if picture.ndim == 2:
        picture = cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR)
    scale = HEIGHT / picture.shape[0]
    picture = cv2.resize(picture, (round(picture.shape[1] * scale), HEIGHT), interpolation=cv2.INTER_AREA)
    header = np.full((34, picture.shape[1], 3), 255, np.uint8)
    cv2.putText(header, title, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.65, (40, 40, 40), 1, cv2.LINE_AA)
    return np.vstack([header, picture])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", nargs="?", type=Path, help="default: a synthetic photo of a number")
    parser.add_argument("--out", type=Path, default=Path("scripts/examples/pipeline.jpg"))
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    data = args.photo.read_bytes() if args.photo else render_photo("number", args.seed, default_source()).image
    result = Recognizer().recognize(data)
    photo = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    strip = result.strip(cell=112)
    strip = np.pad(strip, ((HEIGHT // 3, HEIGHT // 3), (10, 10)), constant_values=255)
    row = [panel(photo, "1. the photo"), panel(result.annotated(), f"2. digits found: {result.text or 'none'}")]
    row.append(panel(strip, "3. what the model sees (28x28)"))
    gap = np.full((HEIGHT + 34, 12, 3), 255, np.uint8)
    figure = np.hstack([row[0], gap, row[1], gap, row[2]])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), figure, [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"{args.out}: read {result.text!r} ({result.status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
