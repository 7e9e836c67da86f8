"""Read handwritten digits from photos without Telegram.

    python scripts/predict.py photo.jpg scan.png
    python scripts/predict.py *.jpg --json --debug-dir /tmp/debug

One line per image, in input order; --json makes each line one JSON object.
A bad file is reported with status "error" and the run goes on; the exit
status is 0 when every image was processed, errors included.
"""

import argparse
import json
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.checkpoint import DEFAULT_MODEL_PATH, CheckpointError  # noqa: E402
from preprocessing.recognize import DEFAULT_THRESHOLD, ERROR, Recognition, Recognizer  # noqa: E402


def read_file(path: Path) -> bytes | str:
    """The file's bytes, or a message saying why it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        return f"cannot read the file: {error.strerror or error}"


def human_line(path: Path, result: Recognition) -> str:
    if result.status == ERROR:
        return f"{path}: error: {result.error}"
    if not result.digits:
        return f"{path}: no digit found ({result.ms:.0f} ms)"
    confidences = " ".join(f"{d.digit}:{d.confidence:.0%}" for d in result.digits)
    return f"{path}: {result.text}  [{result.status}; {confidences}] ({result.ms:.0f} ms)"


def write_debug(directory: Path, path: Path, result: Recognition) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(directory / f"{path.stem}.boxes.png"), result.annotated())
    cv2.imwrite(str(directory / f"{path.stem}.digits.png"), result.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--debug-dir", type=Path, help="write the annotated photo and the 28x28 strip here")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="confidence below which: unsure")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    args = parser.parse_args(argv)
    try:
        recognizer = Recognizer(args.model, threshold=args.threshold)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in args.images:
        data = read_file(path)
        result = Recognition(ERROR, error=data) if isinstance(data, str) else recognizer.recognize(data)
        if args.debug_dir and result.status != ERROR:
            write_debug(args.debug_dir, path, result)
        print(json.dumps({"path": str(path), **result.to_dict()}) if args.json else human_line(path, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
