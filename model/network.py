"""The digit CNN.

DigitNet, for 1x28x28 inputs normalised like MNIST (mean 0.1307, std 0.3081):

    stage 1 (28x28): conv3x3(1->32)  BN ReLU, conv3x3(32->32) BN ReLU, maxpool 2 -> 14x14
    stage 2 (14x14): conv3x3(32->64) BN ReLU, conv3x3(64->64) BN ReLU, maxpool 2 -> 7x7
    stage 3 (7x7):   conv3x3(64->128) BN ReLU, maxpool 2 -> 3x3
    head:            flatten (1152) -> dropout 0.3 -> linear 256 -> BN ReLU -> dropout 0.3 -> linear 10
    piece judge:     flatten (1152) -> linear 64 -> ReLU -> linear 1: is this NOT one digit?

The piece judge tells a digit from two digits run together or part of one, so the recognizer can
choose where to cut digits written into each other. It is trained after the digits, on their
frozen features (model/training.py), so it changes nothing the network reads.

About 0.51 M parameters and 21 M multiply-adds per image: small enough to train
in under an hour on two CPU cores and to answer a photo in about a millisecond.
The network returns raw logits; the classifier divides them by a calibrated
temperature before the softmax.
"""

import torch
from torch import nn

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DigitNet(nn.Module):
    def __init__(self, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(1, 32),
            conv_bn_relu(32, 32),
            nn.MaxPool2d(2),
            conv_bn_relu(32, 64),
            conv_bn_relu(64, 64),
            nn.MaxPool2d(2),
            conv_bn_relu(64, 128),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(128 * 3 * 3, 256, bias=False),
            nn.BatchNorm1d(256),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(256, 10),
        )

        self.piece_judge = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 3 * 3, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Digit logits (N, 10)."""
        return self.head(self.features(x))

    def read(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Digit logits (N, 10) and the logit that each image is not one digit (N,)."""
        features = self.features(x)
        return self.head(features), self.piece_judge(features).squeeze(1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
