"""Saving and loading the shipped checkpoint: weights, temperature, normalisation, metadata."""

from pathlib import Path

import torch

from model.network import MNIST_MEAN, MNIST_STD, DigitNet

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_MODEL_PATH = WEIGHTS_DIR / "model.pt"
FORMAT = "digitnet-v2"
FORMAT_WITHOUT_JUDGE = "digitnet-v1"  # before the piece judge: still loads, the judge untrained


class CheckpointError(RuntimeError):
    """A checkpoint file that is missing, unreadable or not a DigitNet checkpoint."""


def save_checkpoint(
    path: Path, model: DigitNet, temperature: float, metadata: dict, judges_pieces: bool = False
) -> None:
    """`judges_pieces`: the piece judge was trained (untrained, the recognizer does not use it)."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "state_dict": state,
        "temperature": float(temperature),
        "judges_pieces": judges_pieces,
        "mean": MNIST_MEAN,
        "std": MNIST_STD,
        "metadata": metadata,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    torch.save(payload, temporary)
    temporary.replace(path)  # atomic: a crash never leaves half a checkpoint behind


def load_checkpoint(path: str | Path) -> tuple[DigitNet, dict]:
    """The model in eval mode and the checkpoint's other fields, or a CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"cannot read model checkpoint {path}: {reason}") from None
    if not isinstance(payload, dict) or payload.get("format") not in (FORMAT, FORMAT_WITHOUT_JUDGE):
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint")
    model = DigitNet()
    try:
        if payload["format"] == FORMAT_WITHOUT_JUDGE:  # its digits as they were, its piece judge untrained
            missing, unexpected = model.load_state_dict(payload["state_dict"], strict=False)
            if unexpected or not all(key.startswith("piece_judge.") for key in missing):
                raise RuntimeError(f"missing {missing}, unexpected {unexpected}")
        else:
            model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError) as error:
        first_line = str(error).splitlines()[0]
        raise CheckpointError(f"{path} does not match the DigitNet architecture: {first_line}") from None
    model.eval()
    return model, payload
