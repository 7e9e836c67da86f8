"""MNIST as uint8 tensors in memory, with a fixed validation split.

The data root is `--data-dir`, else the environment variable MNIST_DIR, else
`data/`. torchvision finds the four original `.gz` files under
`<root>/MNIST/raw/`, checks their md5 and extracts them without any network;
when they are missing it downloads them. A read-only root (a shared folder) is
copied into `data/` first, because extraction writes next to the archives.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.datasets import MNIST

DEFAULT_DATA_DIR = Path("data")
VALIDATION_SIZE = 5000
VALIDATION_SEED = 20240601  # fixed forever: changing it would leak validation images into training


class DataUnavailable(RuntimeError):
    """MNIST could be neither found nor downloaded."""


@dataclass
class Split:
    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    return Path(data_dir or os.environ.get("MNIST_DIR") or DEFAULT_DATA_DIR)


def _writable_root(root: Path) -> Path:
    """The root itself when torchvision can extract there, else a copy in data/."""
    raw = root / "MNIST" / "raw"
    if not raw.is_dir() or os.access(raw, os.W_OK):
        return root
    cache = DEFAULT_DATA_DIR.resolve()
    if cache == root.resolve():
        return root
    cache_raw = cache / "MNIST" / "raw"
    cache_raw.mkdir(parents=True, exist_ok=True)
    for archive in raw.glob("*.gz"):
        target = cache_raw / archive.name
        if not target.exists() or target.stat().st_size != archive.stat().st_size:
            shutil.copyfile(archive, target)
    return cache


def _load(root: Path, train: bool) -> Split:
    try:
        dataset = MNIST(str(_writable_root(root)), train=train, download=True)
    except Exception as error:  # torchvision raises RuntimeError, URLError, OSError...
        raise DataUnavailable(
            f"MNIST not found under {root.resolve()}/MNIST/raw/ and could not be downloaded "
            f"({type(error).__name__}). Put the four original .gz files there, or set MNIST_DIR "
            "or --data-dir to a folder that has them."
        ) from None
    return Split(dataset.data.clone(), dataset.targets.clone())


def load_train_validation(data_dir: str | os.PathLike | None = None, limit: int | None = None) -> tuple[Split, Split]:
    """The 60,000 training images split into train and a fixed 5,000-image validation set."""
    full = _load(resolve_data_dir(data_dir), train=True)
    order = torch.randperm(len(full.labels), generator=torch.Generator().manual_seed(VALIDATION_SEED))
    validation_index, train_index = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    if limit is not None:
        train_index = train_index[:limit]
        validation_index = validation_index[: max(500, limit // 4)]
    return (
        Split(full.images[train_index], full.labels[train_index]),
        Split(full.images[validation_index], full.labels[validation_index]),
    )


def load_test(data_dir: str | os.PathLike | None = None) -> Split:
    """The 10,000 MNIST test images: for the final report only, never for choosing anything."""
    return _load(resolve_data_dir(data_dir), train=False)
