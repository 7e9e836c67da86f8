# Every target sets up what it needs: `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint train evaluate bench demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

train: $(STAMP)  # the shipped model's recipe: photo digits, 11 epochs on them and MNIST, 2 more with writing styles, the piece judge
	$(BIN)/python scripts/make_photo_crops.py --out runs/photo_crops.npz --photos 10000
	$(BIN)/python scripts/train.py --photo-crops runs/photo_crops.npz --epochs 11 --augment affine,elastic,thickness --out runs/base
	$(BIN)/python scripts/train.py --init runs/base/model.pt --photo-crops runs/photo_crops.npz --epochs 2 --lr 1e-3 --out model/weights
	$(BIN)/python scripts/make_photo_crops.py --pieces --out runs/pieces.npz --photos 3000
	$(BIN)/python scripts/train_piece_judge.py --pieces runs/pieces.npz

evaluate: $(STAMP)
	$(BIN)/python scripts/evaluate.py

bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py

demo: $(STAMP)
	$(BIN)/python -c "import gradio, gradio_client" 2>/dev/null || $(BIN)/pip install --quiet -e ".[web]"
	$(BIN)/python scripts/web_demo.py
