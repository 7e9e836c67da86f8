"""Accuracy, calibration and confusion figures, computed from logits and labels."""

import torch
import torch.nn.functional as F


def expected_calibration_error(probabilities: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> float:
    """ECE with equal-width confidence bins (Guo et al., 2017)."""
    confidence, predicted = probabilities.max(dim=1)
    correct = (predicted == labels).float()
    edges = torch.linspace(0, 1, bins + 1)
    error = torch.zeros(())
    for low, high in zip(edges[:-1], edges[1:]):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            gap = (confidence[in_bin].mean() - correct[in_bin].mean()).abs()
            error += gap * in_bin.float().mean()
    return float(error)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(logits / T)."""
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp())


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Rows are true labels, columns are predictions."""
    return torch.bincount(labels * classes + predicted, minlength=classes * classes).view(classes, classes)


def summarise(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> dict:
    """Accuracy, per-class precision/recall, ECE before and after calibration, confusion matrix."""
    predicted = logits.argmax(dim=1)
    confusion = confusion_matrix(predicted, labels)
    true_positives = confusion.diag().float()
    precision = true_positives / confusion.sum(dim=0).clamp(min=1)
    recall = true_positives / confusion.sum(dim=1).clamp(min=1)
    return {
        "accuracy": round(float((predicted == labels).float().mean()), 6),
        "n": int(len(labels)),
        "errors": int((predicted != labels).sum()),
        "per_class": {
            str(digit): {"precision": round(float(precision[digit]), 6), "recall": round(float(recall[digit]), 6)}
            for digit in range(10)
        },
        "ece_uncalibrated": round(expected_calibration_error(logits.softmax(dim=1), labels), 6),
        "ece": round(expected_calibration_error((logits / temperature).softmax(dim=1), labels), 6),
        "temperature": round(temperature, 6),
        "confusion_matrix": confusion.tolist(),
    }
