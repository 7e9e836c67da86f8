"""The web demo over HTTP: a real Gradio server on a free port, called with gradio_client like a browser would."""

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from paths import ROOT

from bot.replies import answer_text, unreadable_text
from model.checkpoint import DEFAULT_MODEL_PATH
from preprocessing.recognize import ERROR, NO_DIGIT, UNSURE, Recognition, Recognizer
from preprocessing.synthetic import DigitSource, make_photos

SCRIPT = ROOT / "scripts" / "web_demo.py"
MODEL_PATH = Path(os.environ.get("MODEL_PATH", DEFAULT_MODEL_PATH))

# Gradio 6 calls pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")


@pytest.fixture(scope="module")
def web_demo():
    pytest.importorskip("gradio", reason='the web demo needs its extra: pip install -e ".[web]" (CI installs it)')
    pytest.importorskip("gradio_client", reason='the web demo needs its extra: pip install -e ".[web]"')
    spec = importlib.util.spec_from_file_location("web_demo", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(MODEL_PATH)


@pytest.fixture(scope="module")
def client(web_demo, recognizer):
    from gradio_client import Client

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = web_demo.build_app(recognizer)
    web_demo.serve(app, "127.0.0.1", port, block=False)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    app.close()


def upload(client, path: Path) -> list:
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), api_name="/read_upload")


def draw(client, picture: np.ndarray, tmp_path: Path) -> list:
    """Send a picture as the sketchpad sends a drawing: the flattened canvas as an image file."""
    from gradio_client import handle_file

    path = tmp_path / "drawing.png"
    cv2.imwrite(str(path), picture)
    return client.predict(
        {"background": None, "layers": [], "composite": handle_file(str(path))}, api_name="/read_drawing"
    )


def canvas(web_demo) -> np.ndarray:
    width, height = web_demo.CANVAS
    return np.full((height, width), 255, np.uint8)


def charts(answer: list) -> list[dict]:
    """The probability charts that are shown, as {"label", "confidences"} dicts."""
    shown = []
    for chart in answer[4:]:
        if chart.get("__type__") == "update":  # a chart that was hidden, or shown with a new title
            if not chart.get("visible"):
                continue
            chart = chart["value"]
        shown.append(chart)
    return shown


def test_without_gradio_it_says_how_to_install_it_in_one_line():
    hide_gradio = (
        f"import runpy, sys; sys.modules['gradio'] = None; runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    )
    result = subprocess.run([sys.executable, "-c", hide_gradio], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert 'pip install -e ".[web]"' in result.stderr


def test_an_uploaded_photo_is_read_as_the_bot_reads_it(web_demo, client, recognizer, tmp_path):
    photo = make_photos("number", 1, seed=6, digits=DigitSource.strokes_only())[0]
    expected = recognizer.recognize(photo.image)
    assert expected.text == photo.text  # a photo the shipped model reads right, so the page shows a real answer
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo.image)

    number, reply, annotated, strip, *_ = answer = upload(client, path)

    assert number == photo.text
    assert answer_text(expected, recognizer.threshold) in reply  # the bot's words
    assert f"<b>{photo.text}</b>" in reply
    assert cv2.imread(annotated).shape[:2] == expected.photo.shape
    assert cv2.imread(strip).shape[1] == expected.strip().shape[1]
    shown = charts(answer)
    assert len(shown) == min(len(photo.text), web_demo.MAX_CHARTS)
    for chart, digit in zip(shown, expected.digits[: len(shown)], strict=True):
        confidences = {c["label"]: c["confidence"] for c in chart["confidences"]}
        assert sorted(confidences) == [str(d) for d in range(10)]
        assert chart["label"] == str(digit.digit)
        assert confidences[str(digit.digit)] == pytest.approx(digit.confidence)
        assert sum(confidences.values()) == pytest.approx(1.0, abs=1e-4)


# Digits drawn as people do with the mouse: tall, filling the canvas, in the brush's width.
DRAWN = {
    "1": [[(420, 50), (412, 370)]],
    "7": [[(330, 90), (500, 85), (420, 360)]],
    "24": [  # the 4's stem runs off the canvas's bottom edge
        [(150, 140), (200, 60), (290, 50), (330, 120), (160, 370), (340, 370)],
        [(560, 40), (480, 300), (640, 300)],
        [(620, 120), (600, 440)],
    ],
}


@pytest.mark.parametrize("digit", DRAWN)
def test_a_drawn_digit_is_read(web_demo, client, recognizer, tmp_path, digit):
    picture = canvas(web_demo)
    for stroke in DRAWN[digit]:
        cv2.polylines(picture, [np.array(stroke)], False, 0, 2 * web_demo.BRUSH_RADIUS, cv2.LINE_AA)

    number, reply, annotated, strip, *_ = answer = draw(client, picture, tmp_path)

    assert number == digit
    assert f"<b>{digit}</b>" in reply
    assert cv2.imread(annotated).shape[:2] == tuple(side + 2 * web_demo.MARGIN for side in picture.shape[:2])
    assert [chart["label"] for chart in charts(answer)] == list(digit)


def test_an_empty_drawing_gets_the_bots_no_digit_tips(web_demo, client, recognizer, tmp_path):
    number, reply, annotated, strip, *_ = answer = draw(client, canvas(web_demo), tmp_path)

    assert number == ""
    assert answer_text(Recognition(NO_DIGIT), recognizer.threshold) in reply
    assert strip is None
    assert charts(answer) == []


def bad_file(kind: str) -> tuple[str, bytes, str]:
    """A bad upload of this kind: its file name, its bytes and a phrase the reply must contain."""
    if kind == "text":
        return "notes.txt", b"these are not the digits you are looking for", "not an image"
    if kind == "truncated-jpeg":
        return "cut.jpg", cv2.imencode(".jpg", np.full((480, 640), 200, np.uint8))[1].tobytes()[:-800], "truncated"
    if kind == "21-MB":
        return "big.jpg", bytes(21 * 2**20), "limit is 20 MB"
    blank = np.full((6000, 8000), 255, np.uint8)  # 48 megapixels that compress to a few kilobytes
    return "bomb.png", cv2.imencode(".png", blank, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes(), "megapixels"


@pytest.mark.parametrize("kind", ["text", "truncated-jpeg", "21-MB", "48-megapixels"])
def test_bad_files_get_the_bots_message_and_no_traceback(web_demo, client, recognizer, tmp_path, kind):
    name, content, says = bad_file(kind)
    path = tmp_path / name
    path.write_bytes(content)
    expected = recognizer.recognize(content)
    assert expected.status == ERROR

    number, reply, annotated, strip, *_ = answer = upload(client, path)

    assert number == ""
    assert unreadable_text(expected.error) in reply and says in reply
    assert "Traceback" not in reply
    assert annotated is None and strip is None and charts(answer) == []


def test_removing_the_file_clears_the_reading(client):
    number, reply, annotated, strip, *_ = answer = client.predict(None, api_name="/read_upload")

    assert (number, reply, annotated, strip, charts(answer)) == ("", "", None, None, [])


def test_the_example_photos_are_offered_and_read(web_demo, client, recognizer):
    dataset = next(component for component in client.config["components"] if component["type"] == "dataset")
    assert dataset["props"]["sample_labels"] == [caption for _, _, caption in web_demo.EXAMPLES]
    for index, (kind, seed, _) in enumerate(web_demo.EXAMPLES):
        path = Path(client.predict(index, api_name="/load_example")["value"])  # what clicking the example does
        assert path.name.startswith(f"{kind}-{seed}.")

        number, reply, *_ = upload(client, path)

        expected = recognizer.recognize(path.read_bytes())
        written = make_photos(kind, 1, seed=seed, digits=DigitSource.strokes_only())[0].text
        assert number == expected.text
        assert number == written or expected.status == UNSURE  # read right, or said to be doubtful
        assert answer_text(expected, recognizer.threshold) in reply
        assert (expected.status == NO_DIGIT) == (kind == "blank")
