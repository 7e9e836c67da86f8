"""Evaluate a checkpoint on the 10,000 MNIST test images.

    python scripts/evaluate.py                      # the shipped model/weights/model.pt
    python scripts/evaluate.py --json
    python scripts/evaluate.py --model runs/x/model.pt --plots runs/x

Prints accuracy and per-digit accuracy, or one JSON object with --json.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.checkpoint import DEFAULT_MODEL_PATH, CheckpointError, load_checkpoint  # noqa: E402
from model.data import DataUnavailable, load_test  # noqa: E402
from model.metrics import summarise  # noqa: E402
from model.report import plot_confusion, plot_errors  # noqa: E402
from model.training import predict_logits  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--data-dir", help="MNIST root (default: $MNIST_DIR, else data/)")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    parser.add_argument("--plots", type=Path, help="write confusion.png and errors.png into this folder")
    args = parser.parse_args(argv)
    try:
        model, checkpoint = load_checkpoint(args.model)
        test = load_test(args.data_dir)
    except (CheckpointError, DataUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    logits = predict_logits(model, test.images)
    metrics = summarise(logits, test.labels, checkpoint["temperature"])
    metrics["model"] = str(args.model)
    if args.plots:
        args.plots.mkdir(parents=True, exist_ok=True)
        plot_confusion(metrics["confusion_matrix"], args.plots / "confusion.png")
        plot_errors(test, logits, args.plots / "errors.png")
    if args.json:
        print(json.dumps(metrics))
        return 0
    print(f"{args.model}: accuracy {metrics['accuracy']:.2%} on {metrics['n']} MNIST test images")
    print(f"ECE {metrics['ece']:.4f} (uncalibrated {metrics['ece_uncalibrated']:.4f}, T={metrics['temperature']:.3f})")
    for digit, figures in metrics["per_class"].items():
        print(f"  digit {digit}: accuracy {figures['recall']:.2%}  precision {figures['precision']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
