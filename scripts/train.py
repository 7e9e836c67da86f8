"""Train DigitNet on MNIST, and on digits cut from synthetic photos when --photo-crops is given.

    python scripts/train.py --out runs/mnist                # MNIST alone
    python scripts/train.py --limit 2000 --epochs 1 --out /tmp/smoke
    python scripts/train.py --init model/weights/model.pt --photo-crops runs/photo_crops.npz \
        --epochs 2 --lr 1e-3 --out runs/finetune       # fine-tune on photo crops

The shipped model's recipe is `make train` (see the Makefile): 11 epochs on MNIST and photo crops
without the writing styles, then the fine-tuning above with them.

Writes model.pt, metrics.json, confusion.png and errors.png into --out.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.data import DataUnavailable  # noqa: E402
from model.training import TrainConfig, train  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    defaults = TrainConfig(out=Path("model/weights"))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--data-dir", help="MNIST root (default: $MNIST_DIR, else data/)")
    parser.add_argument("--out", type=Path, default=defaults.out, help="output folder (default: model/weights)")
    parser.add_argument("--limit", type=int, help="train on the first N training images only (smoke tests)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--resume", action="store_true", help="continue from --out/training_state.pt")
    parser.add_argument(
        "--augment", default=defaults.augment, help="comma-separated subset of affine,elastic,thickness,styles, or none"
    )
    parser.add_argument("--init", help="start from this checkpoint instead of random weights")
    parser.add_argument("--photo-crops", help="digits cut from synthetic photos (scripts/make_photo_crops.py)")
    args = parser.parse_args(argv)
    config = TrainConfig(**{k: v for k, v in vars(args).items()})
    try:
        metrics = train(config)
    except DataUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"test accuracy {metrics['accuracy']:.2%} ({metrics['errors']} errors of {metrics['n']}), "
        f"ECE {metrics['ece_uncalibrated']:.4f} -> {metrics['ece']:.4f} at T={metrics['temperature']:.3f}, "
        f"selected epoch {metrics['selected_epoch']}, {metrics['train_seconds']:.0f} s training; wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
