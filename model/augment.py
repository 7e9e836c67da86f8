"""Batched training augmentation for handwriting seen through a camera.

Everything works on a whole batch of (N, 1, 28, 28) float images in [0, 1] at
once (one grid_sample per batch), because per-image Python transforms would
cost more than the network itself on a two-core CPU.

- affine: rotation, scale, shear and translation, as a hand and a slightly
  tilted phone produce them;
- elastic: smooth random displacement, the wobble of different writers;
- thickness: 2x2 dilation or erosion, because pens differ and our photo
  pipeline normalises stroke width only approximately;
- styles: flagged 1s and crossed 7s (model/styles.py), drawn once onto the
  training split when it is loaded rather than per batch.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("affine", "elastic", "thickness", "styles")


@dataclass(frozen=True)
class AugmentConfig:
    affine: bool = True
    elastic: bool = True
    thickness: bool = True
    styles: bool = True
    max_rotation_deg: float = 12.0
    scale_range: tuple[float, float] = (0.85, 1.12)
    max_shear: float = 0.25
    max_shift_px: float = 2.5
    elastic_px: float = 1.6
    thickness_probability: float = 0.3

    @classmethod
    def from_names(cls, names: str) -> "AugmentConfig":
        """`"affine,elastic"` turns those on and the rest off; `"none"` turns all off."""
        chosen = {n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"}
        unknown = chosen - set(AUGMENTATIONS)
        if unknown:
            raise ValueError(f"unknown augmentation(s) {sorted(unknown)}; choose from {AUGMENTATIONS}")
        return cls(**{name: name in chosen for name in AUGMENTATIONS})


def _affine_matrices(n: int, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = uniform(-config.max_rotation_deg, config.max_rotation_deg) * math.pi / 180
    scale = uniform(*config.scale_range)
    shear = uniform(-config.max_shear, config.max_shear)
    shift = config.max_shift_px * 2 / 28  # affine_grid works in [-1, 1] coordinates
    tx, ty = uniform(-shift, shift), uniform(-shift, shift)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # Rotation/scale composed with a horizontal shear; maps output to input coordinates.
    return torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, tx], dim=1),
            torch.stack([sin, cos + shear * sin, ty], dim=1),
        ],
        dim=1,
    )


def augment(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Randomly distort a batch of (N, 1, 28, 28) images in [0, 1]."""
    n = images.shape[0]
    if config.affine or config.elastic:
        if config.affine:
            theta = _affine_matrices(n, config, generator)
        else:
            theta = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(n, 2, 3)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        if config.elastic:
            coarse = torch.rand(n, 2, 4, 4, generator=generator) * 2 - 1
            field = F.interpolate(coarse, size=(28, 28), mode="bicubic", align_corners=True)
            grid = grid + field.permute(0, 2, 3, 1) * (config.elastic_px * 2 / 28)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if config.thickness:
        choice = torch.rand(n, generator=generator)
        padded = F.pad(images, (0, 1, 0, 1))
        dilated = F.max_pool2d(padded, 2, stride=1)
        eroded = -F.max_pool2d(-padded, 2, stride=1)
        p = config.thickness_probability / 2
        dilate = (choice < p).view(n, 1, 1, 1)
        erode = ((choice >= p) & (choice < 2 * p)).view(n, 1, 1, 1)
        images = torch.where(dilate, dilated, torch.where(erode, eroded, images))
    return images.clamp_(0, 1)
