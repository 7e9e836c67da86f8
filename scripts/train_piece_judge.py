"""Teach a trained model's piece judge to tell one digit from two run together or part of one.

    python scripts/make_photo_crops.py --pieces --out runs/pieces.npz --photos 3000
    python scripts/train_piece_judge.py --pieces runs/pieces.npz      # into model/weights

The judge is a small head on the network's frozen features: the digits the model reads, its
temperature and its test metrics stay exactly as they were. It lets the recognizer choose where to
cut digits written into each other. Writes model.pt and metrics.json (with "piece_judge") into --out.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.checkpoint import DEFAULT_MODEL_PATH, CheckpointError  # noqa: E402
from model.data import DataUnavailable  # noqa: E402
from model.training import add_piece_judge  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pieces", required=True, help="an .npz from scripts/make_photo_crops.py --pieces")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH, help="the trained checkpoint")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH.parent, help="output folder")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", help="MNIST root (default: $MNIST_DIR, else data/)")
    parser.add_argument("--limit", type=int, help="the first N MNIST training digits only (smoke tests)")
    args = parser.parse_args(argv)
    try:
        judge = add_piece_judge(args.model, args.pieces, args.out, args.epochs, args.seed, args.data_dir, args.limit)
    except (DataUnavailable, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"piece judge: {judge['piece_accuracy']:.2%} right on {judge['pieces']} validation pieces, "
        f"calls {judge['digits_called_not_one']:.3%} of {judge['digits']} validation digits not one digit; "
        f"wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
