"""metrics.json, confusion.png and errors.png for a trained model."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; servers have no display
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from model.data import Split  # noqa: E402


def plot_confusion(confusion: list[list[int]], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 6))
    counts = torch.tensor(confusion).float()
    # Log scale so that the few errors stay visible beside the ~1,000 correct answers per class.
    image = axes.imshow(counts.log1p(), cmap="Blues")
    for true in range(10):
        for predicted in range(10):
            count = int(counts[true, predicted])
            if count:
                colour = "white" if true == predicted else "black"
                axes.text(predicted, true, str(count), ha="center", va="center", fontsize=8, color=colour)
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    accuracy = counts.diag().sum() / counts.sum()
    axes.set_title(f"MNIST test confusion matrix (accuracy {accuracy:.2%})")
    figure.colorbar(image, ax=axes, label="log(1 + count)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_errors(test: Split, logits: torch.Tensor, path: Path, limit: int = 60) -> None:
    predicted = logits.argmax(1)
    wrong = (predicted != test.labels).nonzero().flatten()[:limit]
    columns = 10
    rows = max(1, (len(wrong) + columns - 1) // columns)
    figure, axes_grid = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.3), squeeze=False)
    for axes in axes_grid.flat:
        axes.axis("off")
    for axes, index in zip(axes_grid.flat, wrong.tolist()):
        axes.imshow(test.images[index], cmap="gray")
        axes.set_title(f"{int(test.labels[index])}→{int(predicted[index])}", fontsize=9, color="crimson")
    figure.suptitle(f"Misclassified MNIST test digits (true→predicted), {len(wrong)} shown")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_report(out: Path, metrics: dict, test: Split, test_logits: torch.Tensor) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion(metrics["confusion_matrix"], out / "confusion.png")
    plot_errors(test, test_logits, out / "errors.png")
