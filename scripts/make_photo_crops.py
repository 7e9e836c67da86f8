"""Labelled 28x28 digits cut from synthetic photos by the photo pipeline, to train the model on.

    python scripts/make_photo_crops.py --out runs/photo_crops.npz --photos 10000

Photos are drawn from MNIST *training* digits only: the train crops from the training split, the
validation crops from the fixed validation split, so neither the test set (reported) nor the photo
benchmark (MNIST test digits) is ever seen. Stroke-drawn digits come from the templates only; the
Hershey fonts stay unseen. Then: python scripts/train.py --photo-crops runs/photo_crops.npz ...

With --pieces: the pieces the recognizer weighs when it cuts digits written into each other, labelled
1 when not one digit and 0 when one (see preprocessing.synthetic.piece_crops), for --piece-crops.
"""

import argparse
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.data import DataUnavailable, load_train_validation  # noqa: E402
from preprocessing.synthetic import MNIST_STROKE_SHARE, DigitSource, photo_seed, piece_crops, training_crops  # noqa: E402

TRAIN_SEED, VALIDATION_SEED = 100, 101  # photo seeds apart from the benchmark's (0, 1) and the tests' (2024)


@cache
def _digits(split: str, data_dir: str | None) -> DigitSource:
    train, validation = load_train_validation(data_dir)
    data = train if split == "train" else validation
    return DigitSource(data.images.numpy(), data.labels.numpy(), MNIST_STROKE_SHARE, hershey=False)


def _crops(task: tuple[bool, str, str | None, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Crops (or pieces) of photos start..stop of one split; a process-pool task."""
    pieces, split, data_dir, seed, start, stop = task
    make = piece_crops if pieces else training_crops
    return make([photo_seed(seed, index) for index in range(start, stop)], _digits(split, data_dir))


def _split(pool: ProcessPoolExecutor, pieces: bool, split: str, data_dir: str | None, seed: int, photos: int) -> tuple:
    chunk = 250
    tasks = [(pieces, split, data_dir, seed, start, min(start + chunk, photos)) for start in range(0, photos, chunk)]
    parts = list(pool.map(_crops, tasks))
    return np.concatenate([images for images, _ in parts]), np.concatenate([labels for _, labels in parts])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/photo_crops.npz"))
    parser.add_argument("--photos", type=int, default=10000, help="training photos (validation: an eighth as many)")
    parser.add_argument("--seed", type=int, default=TRAIN_SEED, help="the training photos' seed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", help="MNIST root (default: $MNIST_DIR, else data/)")
    parser.add_argument("--pieces", action="store_true", help="pieces of digits written into each other instead")
    args = parser.parse_args(argv)
    try:
        load_train_validation(args.data_dir)
    except DataUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    # Spawned, not forked: a fork of a process that has started torch's threads can hang.
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        train_images, train_labels = _split(pool, args.pieces, "train", args.data_dir, args.seed, args.photos)
        val_images, val_labels = _split(
            pool, args.pieces, "validation", args.data_dir, VALIDATION_SEED, max(1, args.photos // 8)
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, train_images=train_images, train_labels=train_labels, val_images=val_images, val_labels=val_labels
    )
    what = "pieces" if args.pieces else "digits"
    print(f"wrote {args.out}: {len(train_labels)} training and {len(val_labels)} validation {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
