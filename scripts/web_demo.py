"""Try the digit reader in a browser, without Telegram: draw a number or upload a photo.

    make demo                                   # installs the web extra if needed, then serves
    python scripts/web_demo.py                  # after `pip install -e ".[web]"`; open http://127.0.0.1:7860
    python scripts/web_demo.py --host 0.0.0.0 --port 8080 --model runs/x/model.pt   # or MODEL_PATH=..., as the bot

Both inputs go through preprocessing.recognize.Recognizer, the bot's code path: an upload is passed on
byte for byte, a drawing is encoded as a PNG (on a white margin) first. The page shows the number read, the
bot's reply, the ten probabilities of each digit, the photo with its boxes and the 28x28 images the model
saw. The example photos are rendered by preprocessing/synthetic.py at start-up (about a second) into
EXAMPLES_DIR; the page opens with the first one read.

Nothing leaves the machine: no analytics, no share link. A bad upload (not an image, over 20 MB, too many
pixels) gets the bot's message; Gradio itself refuses files over UPLOAD_LIMIT before they reach the recognizer.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
try:
    import gradio as gr
except ImportError:
    sys.exit('The web demo needs Gradio: run `make demo`, or `pip install -e ".[web]"` and try again.')

from bot.replies import answer_text, unreadable_text  # noqa: E402
from model.checkpoint import DEFAULT_MODEL_PATH, CheckpointError  # noqa: E402
from preprocessing.recognize import DEFAULT_THRESHOLD, ERROR, Digit, Recognition, Recognizer, encode_png  # noqa: E402
from preprocessing.synthetic import DigitSource, make_photos  # noqa: E402

UPLOAD_LIMIT = "50mb"  # Gradio's own cap; below it the recognizer's 20 MB limit and the bot's message apply
MAX_CHARTS = 6  # probability charts shown; a longer number is still read whole
CANVAS = (840, 420)  # sketchpad width, height: room for a number of a few digits
BRUSH_RADIUS = 8  # px on the canvas: a marker (the pipeline takes long, straight, thin strokes for ruled lines)
MARGIN = 24  # px of white put around a drawing
EXAMPLES_DIR = Path(tempfile.gettempdir()) / "digit-demo-examples"
# (kind, seed, caption); the page opens with the first. Stroke-drawn digits only, so every machine renders
# the same photos.
EXAMPLES = (
    ("number", 3, "a number on squared paper"),
    ("single", 0, "one digit, red pen"),
    ("two_rows", 1, "two rows"),
    ("inverted", 0, "a drawing-app screenshot"),
    ("single", 3, "a doubtful one"),
    ("blank", 0, "no digit"),
)


def reply_html(result: Recognition, threshold: float) -> str:
    """The bot's reply to this reading, as HTML (Telegram's HTML is a subset of the web's)."""
    text = unreadable_text(result.error or "") if result.status == ERROR else answer_text(result, threshold)
    return f'<div style="white-space: pre-line">{text}</div>'  # keeps the bot's line breaks


def chart(digits: list[Digit], index: int) -> gr.Label:
    """The ten probabilities of the index-th digit, or a hidden chart when there is no such digit."""
    if index >= len(digits):
        return gr.Label(value=None, visible=False)
    probabilities = {str(k): float(p) for k, p in enumerate(digits[index].probabilities)}
    return gr.Label(value=probabilities, label=f"Digit {index + 1} of {len(digits)}", visible=True)


def show(result: Recognition | None, threshold: float) -> list:
    """The values of build_app's output components for one reading; None clears them."""
    if result is None:
        return ["", "", None, None, *(chart([], index) for index in range(MAX_CHARTS))]
    annotated = cv2.cvtColor(result.annotated(), cv2.COLOR_BGR2RGB) if result.photo is not None else None
    strip = result.strip() if result.digits else None
    charts = [chart(result.digits, index) for index in range(MAX_CHARTS)]
    return [result.text, reply_html(result, threshold), annotated, strip, *charts]


def drawing_png(sketch: dict | None) -> bytes:
    """The sketchpad's flattened picture (gray, black on white) as PNG bytes; b"" when there is none.

    A white margin goes around it: the photo pipeline drops shapes cut by the frame's edge, but a stroke
    that reaches the canvas's edge is whole.
    """
    if not sketch or sketch.get("composite") is None:
        return b""
    picture = np.asarray(sketch["composite"], np.uint8)
    return encode_png(cv2.copyMakeBorder(picture, *[MARGIN] * 4, cv2.BORDER_CONSTANT, value=255))


def write_examples(folder: Path) -> list[tuple[Path, str]]:
    """Render the EXAMPLES into `folder`; their paths and captions."""
    folder.mkdir(parents=True, exist_ok=True)
    strokes = DigitSource.strokes_only()
    examples = []
    for kind, seed, caption in EXAMPLES:
        photo = make_photos(kind, 1, seed=seed, digits=strokes)[0]
        suffix = ".png" if photo.image.startswith(b"\x89PNG") else ".jpg"  # drawing-app screenshots are PNGs
        path = folder / f"{kind}-{seed}{suffix}"
        path.write_bytes(photo.image)
        examples.append((path, caption))
    return examples


def build_app(recognizer: Recognizer) -> gr.Blocks:
    """The page: the two inputs side by side, the reading below them."""

    def read_drawing(sketch: dict | None) -> list:
        return show(recognizer.recognize(drawing_png(sketch)), recognizer.threshold)

    def read_upload(data: bytes | None) -> list:
        result = recognizer.recognize(data) if data is not None else None  # None: the file was removed
        return show(result, recognizer.threshold)

    with gr.Blocks(title="Digit reader", analytics_enabled=False) as app:
        gr.Markdown(
            "# Handwritten digit reader\n"
            "Draw a digit or a number, or upload a photo of handwritten digits: "
            "the same recognizer as the Telegram bot reads it."
        )
        with gr.Row():
            with gr.Column():
                sketch = gr.Sketchpad(
                    value={"background": np.full(CANVAS[::-1], 255, np.uint8), "layers": [], "composite": None},
                    label="Draw here",
                    type="numpy",
                    image_mode="L",
                    canvas_size=CANVAS,
                    brush=gr.Brush(default_size=BRUSH_RADIUS, colors=["#000000"], color_mode="fixed"),
                    layers=False,
                    transforms=(),
                )
                read_button = gr.Button("Read the drawing", variant="primary")
            with gr.Column():
                examples = write_examples(EXAMPLES_DIR)
                upload = gr.File(str(examples[0][0]), label="Or upload a photo or scan", type="binary")
                gr.Examples(
                    examples=[[str(path)] for path, _ in examples],
                    example_labels=[caption for _, caption in examples],
                    inputs=upload,
                    label="Example photos, made by preprocessing/synthetic.py: click one",
                )
        with gr.Row():
            with gr.Column():
                number = gr.Textbox(label="Number read", interactive=False)
                reply = gr.HTML()
                strip = gr.Image(label="What the model saw (28×28 each)", format="png", interactive=False)
            annotated = gr.Image(label="What I found", format="png", interactive=False, height=400)
        with gr.Row():
            charts = [gr.Label(num_top_classes=10, visible=False, scale=0, min_width=170) for _ in range(MAX_CHARTS)]
        outputs = [number, reply, annotated, strip, *charts]

        # One queue for both inputs: the recognizer reads one picture at a time.
        read_button.click(read_drawing, sketch, outputs, api_name="read_drawing", concurrency_id="recognizer")
        upload.change(read_upload, upload, outputs, api_name="read_upload", concurrency_id="recognizer")
        app.load(read_upload, upload, outputs, api_name=False, concurrency_id="recognizer")  # the first example
    return app


def serve(app: gr.Blocks, host: str, port: int, block: bool = True) -> None:
    """Serve the page at http://host:port; block=False returns as soon as it is up (for tests)."""
    app.launch(
        server_name=host, server_port=port, max_file_size=UPLOAD_LIMIT, prevent_thread_lock=not block, quiet=not block
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: the whole network)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--model", type=Path, default=os.environ.get("MODEL_PATH") or DEFAULT_MODEL_PATH)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="confidence below which: unsure")
    args = parser.parse_args(argv)
    try:
        recognizer = Recognizer(args.model, threshold=args.threshold)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    serve(build_app(recognizer), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
