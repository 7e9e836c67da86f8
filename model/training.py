"""Training loop: train on MNIST minus validation, select by validation, calibrate, report on test.

Optionally starts from a checkpoint and mixes in digits cut from synthetic photos by the pipeline
(scripts/make_photo_crops.py), which teaches the model what the pipeline's 28x28 images look like.
"""

import copy
import datetime
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from model.augment import AugmentConfig, augment
from model.checkpoint import load_checkpoint, save_checkpoint
from model.data import Split, load_test, load_train_validation
from model.metrics import expected_calibration_error, fit_temperature, summarise
from model.network import MNIST_MEAN, MNIST_STD, DigitNet, count_parameters
from model.report import write_report
from model.styles import with_writing_styles

STATE_FILE = "training_state.pt"  # for --resume; not shipped
CHECKPOINT_FILE = "model.pt"


@dataclass
class TrainConfig:
    out: Path
    epochs: int = 16
    batch_size: int = 128
    lr: float = 4e-3
    weight_decay: float = 1e-4
    seed: int = 1
    data_dir: str | None = None
    limit: int | None = None
    threads: int | None = None
    resume: bool = False
    augment: str = "affine,elastic,thickness,styles"
    init: str | None = None  # a checkpoint to start from (fine-tuning) instead of random weights
    photo_crops: str | None = None  # an .npz from scripts/make_photo_crops.py, mixed into training and validation
    history: list = field(default_factory=list)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float, normalised as the classifier does."""
    return ((images.float() / 255 - MNIST_MEAN) / MNIST_STD).unsqueeze(1)


def _in_batches(
    compute: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, width: int, batch_size: int = 1000
) -> torch.Tensor:
    """compute() over normalised uint8 images, a batch at a time; (N, width). Not inference_mode: the outputs
    feed autograd (the temperature fit, the piece judge's training)."""
    with torch.no_grad():
        batches = [compute(normalise(images[i : i + batch_size])) for i in range(0, len(images), batch_size)]
    return torch.cat(batches) if batches else torch.zeros((0, width))


def predict_logits(model: DigitNet, images: torch.Tensor) -> torch.Tensor:
    model.eval()
    return _in_batches(model, images, 10)


def train_one_epoch(
    model: DigitNet,
    data: Split,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    augmentation: AugmentConfig,
    batch_size: int,
    generator: torch.Generator,
    description: str,
) -> float:
    """One pass over `data`; returns images per second."""
    model.train()
    order = torch.randperm(len(data.labels), generator=generator)
    steps = len(order) // batch_size  # drop the ragged last batch: BatchNorm dislikes tiny ones
    seen, correct, loss_sum = 0, 0, 0.0
    started = time.perf_counter()
    progress = tqdm(range(steps), desc=description, leave=False, mininterval=2)
    for step in progress:
        index = order[step * batch_size : (step + 1) * batch_size]
        images = augment(data.images[index].float().div(255).unsqueeze(1), augmentation, generator)
        labels = data.labels[index]
        logits = model((images - MNIST_MEAN) / MNIST_STD)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        seen += len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        loss_sum += loss.item() * len(labels)
        rate = seen / (time.perf_counter() - started)
        progress.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.4f}", img_s=f"{rate:.0f}")
    return seen / (time.perf_counter() - started)


def load_photo_crops(path: str) -> tuple[Split, Split]:
    """Training and validation digits cut from synthetic photos (scripts/make_photo_crops.py)."""
    with np.load(path) as crops:
        return (
            Split(torch.from_numpy(crops["train_images"]), torch.from_numpy(crops["train_labels"])),
            Split(torch.from_numpy(crops["val_images"]), torch.from_numpy(crops["val_labels"])),
        )


def accuracy_of(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).float().mean()) if len(labels) else 0.0


def calibration(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> dict:
    """Expected calibration error of `logits` before and after temperature scaling."""
    return {
        "ece_uncalibrated": expected_calibration_error(logits.softmax(1), labels),
        "ece": expected_calibration_error((logits / temperature).softmax(1), labels),
    }


def frozen_features(model: DigitNet, images: torch.Tensor) -> torch.Tensor:
    """The convolutional features (N, 1152) of uint8 images, as the model in eval mode computes them."""
    model.eval()
    return _in_batches(lambda x: model.features(x).flatten(1), images, 128 * 3 * 3)


def train_piece_judge(
    model: DigitNet, pieces: tuple[Split, Split], digits: tuple[Split, Split], epochs: int, seed: int
) -> dict:
    """Train the piece judge on the frozen features: the pieces labelled 1 (not one digit) against those
    labelled 0 and the digits. Returns how often it is right on the validation pieces, and how often it
    calls a validation digit not one digit."""
    (piece_train, piece_validation), (digit_train, digit_validation) = pieces, digits
    features = torch.cat([frozen_features(model, piece_train.images), frozen_features(model, digit_train.images)])
    labels = torch.cat([piece_train.labels.float(), torch.zeros(len(digit_train.labels))])
    judge = model.piece_judge[1:]  # its Flatten is done: the features are flat already
    optimizer = torch.optim.AdamW(judge.parameters(), lr=1e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    judge.train()
    for _ in tqdm(range(epochs), desc="piece judge", leave=False):
        order = torch.randperm(len(labels), generator=generator)
        for index in order.split(256):
            loss = F.binary_cross_entropy_with_logits(judge(features[index]).squeeze(1), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    judge.eval()
    with torch.inference_mode():
        said_pieces = judge(frozen_features(model, piece_validation.images)).squeeze(1) > 0
        said_digits = judge(frozen_features(model, digit_validation.images)).squeeze(1) > 0
    return {
        "piece_accuracy": round(float((said_pieces == piece_validation.labels.bool()).float().mean()), 4),
        "pieces": len(piece_validation.labels),
        "not_one_piece_share": round(float(piece_validation.labels.float().mean()), 4),
        "digits_called_not_one": round(float(said_digits.float().mean()), 5),
        "digits": len(digit_validation.labels),
    }


def add_piece_judge(
    checkpoint: Path,
    pieces: str,
    out: Path,
    epochs: int = 4,
    seed: int = 1,
    data_dir: str | None = None,
    limit: int | None = None,
) -> dict:
    """Train the piece judge of `checkpoint` and write the checkpoint with it into `out`, its digits,
    temperature and metadata as they were (but the parameter count), and its metrics.json with the
    judge's figures added."""
    torch.manual_seed(seed)  # before the model is built: a checkpoint without a judge leaves it randomly set
    model, payload = load_checkpoint(checkpoint)
    digits = load_train_validation(data_dir, limit)
    judge = train_piece_judge(model, load_photo_crops(pieces), digits, epochs, seed)
    metrics_path = Path(checkpoint).parent / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    metrics["piece_judge"] = {**judge, "pieces_file": pieces, "epochs": epochs}
    metrics["parameters"] = count_parameters(model)  # the judge's included
    metadata = {**payload["metadata"], "parameters": metrics["parameters"]}
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out / CHECKPOINT_FILE, model, payload["temperature"], metadata, judges_pieces=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return judge


def train(config: TrainConfig) -> dict:
    """Run the whole training and write checkpoint, metrics.json and plots into config.out."""
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    augmentation = AugmentConfig.from_names(config.augment)
    train_data, validation = load_train_validation(config.data_dir, config.limit)
    if augmentation.styles:
        train_data = Split(with_writing_styles(train_data.images, train_data.labels, config.seed), train_data.labels)
    photo_validation = Split(torch.zeros((0, 28, 28), dtype=torch.uint8), torch.zeros(0, dtype=torch.int64))
    if config.photo_crops:
        photo_train, photo_validation = load_photo_crops(config.photo_crops)
        train_data = Split(
            torch.cat([train_data.images, photo_train.images]), torch.cat([train_data.labels, photo_train.labels])
        )
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)

    model = load_checkpoint(config.init)[0] if config.init else DigitNet()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = len(train_data.labels) // config.batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.2
    )
    start_epoch, best, history, train_seconds = 0, {"accuracy": -1.0}, [], 0.0
    best_state = copy.deepcopy(model.state_dict())
    state_path = out / STATE_FILE
    if config.resume and state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, best, history = state["epoch"], state["best"], state["history"]
        best_state, train_seconds = state["best_model"], state["train_seconds"]
        print(f"resuming from {state_path} after epoch {start_epoch}")

    images_per_second = []
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        rate = train_one_epoch(
            model,
            train_data,
            optimizer,
            scheduler,
            augmentation,
            config.batch_size,
            generator,
            f"epoch {epoch + 1}/{config.epochs}",
        )
        train_seconds += time.perf_counter() - started
        images_per_second.append(rate)
        logits = predict_logits(model, validation.images)
        accuracy = accuracy_of(logits, validation.labels)
        loss = float(F.cross_entropy(logits, validation.labels))
        photo_accuracy = accuracy_of(predict_logits(model, photo_validation.images), photo_validation.labels)
        history.append(
            {
                "epoch": epoch + 1,
                "val_accuracy": accuracy,
                "val_loss": loss,
                "photo_val_accuracy": photo_accuracy,
                "images_per_s": rate,
            }
        )
        print(
            f"epoch {epoch + 1}/{config.epochs}: val accuracy {accuracy:.4%}  val loss {loss:.4f}  "
            f"photo val accuracy {photo_accuracy:.4%}  {rate:.0f} img/s  {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        # Photo crops, when given, count as much as MNIST: the model is there to read photos.
        score = (accuracy + photo_accuracy) / 2 if len(photo_validation.labels) else accuracy
        if (score, -loss) > (best.get("score", best["accuracy"]), -best.get("loss", 0.0)):
            best = {
                "accuracy": accuracy,
                "photo_accuracy": photo_accuracy,
                "score": score,
                "loss": loss,
                "epoch": epoch + 1,
            }
            best_state = copy.deepcopy(model.state_dict())
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "epoch": epoch + 1,
                "best": best,
                "history": history,
                "best_model": best_state,
                "train_seconds": train_seconds,
            },
            state_path,
        )

    model.load_state_dict(best_state)
    validation_logits = predict_logits(model, validation.images)
    photo_logits = predict_logits(model, photo_validation.images)
    # Calibrated on MNIST and photo validation digits together: confidence must be honest on photos.
    temperature = fit_temperature(
        torch.cat([validation_logits, photo_logits]), torch.cat([validation.labels, photo_validation.labels])
    )
    test = load_test(config.data_dir)
    test_logits = predict_logits(model, test.images)
    metrics = summarise(test_logits, test.labels, temperature)
    metrics.update(
        {
            "validation": {
                "accuracy": best["accuracy"],
                "n": len(validation.labels),
                **calibration(validation_logits, validation.labels, temperature),
            },
            "photo_validation": {
                "accuracy": best.get("photo_accuracy") if len(photo_logits) else None,
                "n": len(photo_validation.labels),
                **(calibration(photo_logits, photo_validation.labels, temperature) if len(photo_logits) else {}),
            },
            "selected_epoch": best.get("epoch"),
            "epochs": config.epochs,
            "parameters": count_parameters(model),
            "train_images": len(train_data.labels),
            "train_seconds": round(train_seconds, 1),
            "images_per_s": round(sum(images_per_second) / max(1, len(images_per_second)), 1),
            "history": history,
            "config": {k: v for k, v in asdict(config).items() if k not in ("out", "history", "resume")},
            "torch_version": str(torch.__version__),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
    )
    save_checkpoint(
        out / CHECKPOINT_FILE,
        model,
        temperature,
        {
            "test_accuracy": metrics["accuracy"],
            "date": metrics["date"],
            "epochs": config.epochs,
            "parameters": metrics["parameters"],
            "torch_version": str(torch.__version__),
        },
    )
    write_report(out, metrics, test, test_logits)
    return metrics
