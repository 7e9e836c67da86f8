"""Classify MNIST-style 28x28 digits with the shipped (or any) checkpoint."""

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.fx.experimental.optimization import fuse

from model.checkpoint import DEFAULT_MODEL_PATH, load_checkpoint
from model.network import DigitNet

# A digit read with less confidence than this is read again shifted by a pixel each way, and the five
# readings averaged: where one reading hesitates, a pixel can tip it (MNIST test errors 40 -> 34).
REREAD_BELOW = 0.9
SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # (dx, dy)


class Classifier:
    """Loads a checkpoint once; `probabilities()` returns calibrated class probabilities.

    Input: uint8 arrays of shape (N, 28, 28), white ink on black, as MNIST.
    `threads` sets torch's intra-op threads; 1 suits serving one photo at a time.
    """

    def __init__(self, path: str | Path = DEFAULT_MODEL_PATH, threads: int | None = 1) -> None:
        if threads is not None:
            torch.set_num_threads(threads)
        self.path = Path(path)
        self.network, checkpoint = load_checkpoint(self.path)  # the DigitNet, as trained
        # What runs: batch norm folded into the convolutions, in channels-last memory; together
        # about 35 % faster for one digit on a CPU, with the same outputs to 1e-6.
        self._inference = fuse(_Reading(self.network)).to(memory_format=torch.channels_last)
        self.temperature = float(checkpoint["temperature"])
        self.judges_pieces = bool(checkpoint.get("judges_pieces", False))
        self.mean = float(checkpoint["mean"])
        self.std = float(checkpoint["std"])
        self.metadata: dict = checkpoint.get("metadata", {})

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 -> (N, 10) float probabilities that sum to 1."""
        return self.read(digits)[0]

    def read(self, digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 28, 28) uint8 -> (N, 10) digit probabilities that sum to 1, and (N,) the probability that
        each image is not one digit (two run together, part of one; meaningful when `judges_pieces`)."""
        digits = np.asarray(digits)
        if digits.ndim != 3 or digits.shape[1:] != (28, 28):
            raise ValueError(f"expected digits of shape (N, 28, 28), got {digits.shape}")
        if len(digits) == 0:
            return np.zeros((0, 10), dtype=np.float32), np.zeros(0, dtype=np.float32)
        probabilities, not_one_digit = self._read(digits)
        unsure = probabilities.max(axis=1) < REREAD_BELOW
        if unsure.any():
            shifted = np.concatenate([_shifted(digits[unsure], dx, dy) for dx, dy in SHIFTS])
            readings = self._read(shifted)[0].reshape(len(SHIFTS), -1, 10)
            probabilities[unsure] = (probabilities[unsure] + readings.sum(axis=0)) / (1 + len(SHIFTS))
        return probabilities, not_one_digit

    def _read(self, digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(np.ascontiguousarray(digits, dtype=np.uint8)).float().div_(255)
        x = x.sub_(self.mean).div_(self.std).unsqueeze(1).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            logits, not_one_digit = self._inference(x)
            return (logits / self.temperature).softmax(dim=1).numpy(), not_one_digit.sigmoid().numpy()


class _Reading(nn.Module):
    """DigitNet.read as a module's forward, for torch.fx to trace and fuse."""

    def __init__(self, network: DigitNet) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.network.read(x)


def _shifted(digits: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """(N, 28, 28) images moved dx px right and dy px down, filled with black."""
    moved = np.zeros_like(digits)
    height, width = digits.shape[1:]
    moved[:, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = digits[
        :, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
    ]
    return moved
