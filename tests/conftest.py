"""Shared fixtures: tiny synthetic photos and style images made in the test, never ../shared."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image


def synthetic_photo(seed: int, height: int = 64, width: int = 64) -> np.ndarray:
    """A smooth random 'photo': low-frequency colour blobs plus an edge and mild noise, uint8 RGB."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    image = np.zeros((height, width, 3))
    for c in range(3):
        for _ in range(3):
            fy, fx, phase = rng.uniform(0.5, 4, 2).tolist() + [rng.uniform(0, 6.3)]
            image[..., c] += np.sin(2 * np.pi * (fy * yy + fx * xx) + phase)
    image[:, : width // 3] += rng.uniform(-1, 1, 3)  # a hard edge, as photos have
    image = (image - image.min()) / (np.ptp(image) + 1e-8) * 255
    image += rng.normal(0, 4, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def synthetic_style(height: int = 64, width: int = 64) -> np.ndarray:
    """A 'painting' with strong texture: coloured diagonal stripes, unlike the photos."""
    yy, xx = np.mgrid[0:height, 0:width]
    stripes = ((xx + yy) // 4) % 3
    palette = np.array([[230, 200, 40], [30, 60, 200], [200, 40, 60]], dtype=np.uint8)
    return palette[stripes]


@pytest.fixture
def one_thread():
    """Runs compared bit for bit: one torch thread. With two, oneDNN's reductions may split differently between
    two runs of the same step (test_resume_is_exact failed 2 runs in 3 after other tests, passed alone)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def photo_dir(tmp_path):
    """A folder of 8 synthetic photos in mixed formats and one nested sub-folder."""
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    for i in range(8):
        sub = folder / "nested" if i % 3 == 0 else folder
        ext = [".jpg", ".png", ".webp"][i % 3]
        Image.fromarray(synthetic_photo(i, 72 + 8 * i, 64)).save(sub / f"photo{i}{ext}")
    return folder


@pytest.fixture
def style_path(tmp_path):
    path = tmp_path / "style.png"
    Image.fromarray(synthetic_style(96, 128)).save(path)
    return path


def _invert_model(path, *, input_type=None, identity=False, metadata=None):
    """uint8 (N, H, W, 3) -> 255 - x (or x itself with `identity`), as `brushwork export` files are laid out (input
    'image', output 'stylized'); `metadata` adds or replaces metadata_props."""
    import onnx
    from onnx import TensorProto, helper

    in_type = input_type or TensorProto.UINT8
    dims = ["batch", "height", "width", 3]
    nodes = [helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
             helper.make_node("Identity", ["x"], ["y"]) if identity else helper.make_node("Sub", ["full", "x"], ["y"]),
             helper.make_node("Cast", ["y"], ["stylized"], to=TensorProto.UINT8)]
    graph = helper.make_graph(nodes, "invert", [helper.make_tensor_value_info("image", in_type, dims)],
                              [helper.make_tensor_value_info("stylized", TensorProto.UINT8, dims)],
                              [helper.make_tensor("full", TensorProto.FLOAT, [], [255.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    metadata = {"producer": "brushwork", "arch": "invert", "precision": "fp32", "style_name": "negative",
                **(metadata or {})}
    for key, value in metadata.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.save(model, str(path))
    return path


@pytest.fixture
def make_invert_model():
    """A factory for a tiny ONNX file laid out like `brushwork export`'s that inverts colours (no torch needed)."""
    return _invert_model


def _texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like uint8 RGB texture: blurred noise at two scales, enough detail for optical flow."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.random((height // 8, width // 8, 3)).astype(np.float32), (width, height))
    fine = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 1.5)
    return np.clip((0.6 * coarse + 0.8 * fine - 0.2) * 255, 0, 255).astype(np.uint8)


def _panning_clip(frames: int = 5, shift: tuple[int, int] = (2, 1), size: tuple[int, int] = (64, 96)) -> list:
    """Frames of a camera panning over a texture by `shift` (dx, dy) pixels per frame; negative shifts too."""
    h, w = size
    dx, dy = shift
    base = _texture(h + abs(dy) * frames + 8, w + abs(dx) * frames + 8)
    y0, x0 = 4 + max(-dy, 0) * frames, 4 + max(-dx, 0) * frames  # room for negative shifts too
    return [base[y0 + dy * t: y0 + dy * t + h, x0 + dx * t: x0 + dx * t + w].copy() for t in range(frames)]


@pytest.fixture
def texture():
    """`texture(height, width, seed=0)`: a photo-like uint8 RGB texture with detail for optical flow."""
    return _texture


@pytest.fixture
def panning_clip():
    """`panning_clip(frames, shift=(dx, dy), size=(h, w))`: frames of a camera panning over a texture."""
    return _panning_clip


def _flickering_model(path, *, amplitude: float = 40.0):
    """Like `_invert_model` but adds fresh uniform noise (+-amplitude) on every call: a model that flickers."""
    import onnx
    from onnx import TensorProto, helper

    dims = ["batch", "height", "width", 3]
    nodes = [helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
             helper.make_node("RandomUniformLike", ["x"], ["noise"], low=-amplitude, high=amplitude),
             helper.make_node("Add", ["x", "noise"], ["y"]),
             helper.make_node("Clip", ["y", "lo", "hi"], ["clipped"]),
             helper.make_node("Cast", ["clipped"], ["stylized"], to=TensorProto.UINT8)]
    graph = helper.make_graph(nodes, "flicker", [helper.make_tensor_value_info("image", TensorProto.UINT8, dims)],
                              [helper.make_tensor_value_info("stylized", TensorProto.UINT8, dims)],
                              [helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0]),
                               helper.make_tensor("hi", TensorProto.FLOAT, [], [255.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture
def make_flickering_model():
    """A factory for a tiny brushwork-layout ONNX file whose output is the input plus fresh noise every call."""
    return _flickering_model


# `python DRIVER brushwork-train-args...`: `brushwork train` with one fault injected on one rank, from the
# environment: FAULT="KIND:STEP:RANK" (RANK as torchrun numbers them; 0 without DDP). KIND is
#   nan     the loss of that step is NaN on that rank (one rank diverges)
#   term    SIGTERM to that process after the step (the handler only sets a flag)
#   ctrl-c  SIGINT to the whole process group after the step, as a terminal's Ctrl-C reaches the DataLoader
#           workers too; the caller must start the process in a session of its own (start_new_session=True)
# and, where CHOOSE_BY_RANK="bf16,off" is set, `--amp auto` decides differently on each rank (as timing under load
# can): each rank prints the precision its trainer really runs in.
_TRAIN_WITH_FAULT = '''
import os, signal, sys

from brushwork.cli import main
from brushwork.train import loop

kind, at, rank = os.environ["FAULT"].split(":")
if os.environ.get("CHOOSE_BY_RANK"):
    mine = os.environ["CHOOSE_BY_RANK"].split(",")[int(os.environ.get("RANK", "0"))]
    loop.choose = lambda mode, device: (mine, "this rank's own timing")
    real_init = loop.Trainer.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        print(f"rank {os.environ.get('RANK', '0')} trains in {self.dtype}", flush=True)

    loop.Trainer.__init__ = init
if os.environ.get("RANK", "0") == rank:
    real_losses, real_step = loop.Trainer.losses, loop.Trainer.step

    def losses(self, x, step):
        total, parts = real_losses(self, x, step)
        return (total * float("nan") if step == int(at) and kind == "nan" else total), parts

    def step(self, batch, step, lr=None):
        out = real_step(self, batch, step, lr)
        if step == int(at) and kind == "term":
            os.kill(os.getpid(), signal.SIGTERM)
        elif step == int(at) and kind == "ctrl-c":
            if os.getpgid(0) != os.getpid():
                sys.exit("ctrl-c: start this process with start_new_session=True")
            os.killpg(0, signal.SIGINT)
        return out

    loop.Trainer.losses, loop.Trainer.step = losses, step
sys.exit(main(sys.argv[1:]))
'''


@pytest.fixture
def fault_driver(tmp_path):
    """A script that runs `brushwork train` with the fault that $FAULT names (see _TRAIN_WITH_FAULT)."""
    path = tmp_path / "train_with_fault.py"
    path.write_text(_TRAIN_WITH_FAULT)
    return path


# ---- the repository's scripts/ (not a package) ----------------------------------------------------------------------

@pytest.fixture
def load_script():
    """`load_script("ship_style")`: the module scripts/ship_style.py, imported from its file."""
    import importlib.util

    def load(name: str):
        path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


# ---- a real browser ---------------------------------------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# This sandbox (and CI) runs as root without a GPU or network: no sandbox, no GPU, nothing fetched in the background;
# a fake webcam that the page may use without asking, showing one still photo (fake_camera_file below).
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
WEB = Path(__file__).resolve().parents[1] / "web"


@pytest.fixture(scope="session")
def fake_camera_file(tmp_path_factory) -> Path:
    """The package's sample photo as a one-frame Y4M video (I420, 320x240) for Chromium's fake webcam. Chromium's own
    test pattern moves, so each run compared a different frame and the mean rounding difference between the browser
    and Python varied with it (0.11-0.27 for the same model, tests/test_web.py); a still photo makes it one number."""
    from PIL import Image

    photo = Image.open(Path(__file__).resolve().parents[1] / "data" / "samples" / "photo.jpg").convert("RGB")
    w, h = 320, 240
    y, cb, cr = photo.resize((w, h), Image.Resampling.LANCZOS).convert("YCbCr").split()
    chroma = [c.resize((w // 2, h // 2), Image.Resampling.BOX).tobytes() for c in (cb, cr)]
    path = tmp_path_factory.mktemp("camera") / "photo.y4m"
    path.write_bytes(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\nFRAME\n".encode() + y.tobytes() + b"".join(chroma))
    return path


@pytest.fixture
def browser(fake_camera_file):
    """Headless Chromium driven by playwright (the system's browser: playwright never downloads one)."""
    executable = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if executable is None:
        pytest.skip("no Chromium installed (apt-get install chromium); the browser test needs one")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the dev extra has it)")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=[
                *BROWSER_FLAGS, f"--use-file-for-fake-video-capture={fake_camera_file}"])
        except sync_api.Error as e:
            pytest.skip(f"{executable} did not start: {str(e).strip().splitlines()[0][:200]}")
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def ort_web() -> Path:
    """onnxruntime-web's dist folder, installed from web/package-lock.json with `npm ci` when it is not there yet
    (.ci/run installs it first); skipped, saying why, without npm or its registry."""
    from brushwork.infer.web.runtime import check_runtime_dir

    dist = WEB / "node_modules" / "onnxruntime-web" / "dist"
    if not dist.is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed (apt-get install npm); the browser runtime comes from npm")
        done = subprocess.run([npm, "ci", "--prefix", str(WEB), "--no-audit", "--no-fund"], check=False,
                              capture_output=True, text=True, timeout=600)
        if done.returncode:
            pytest.skip(f"npm ci could not install onnxruntime-web: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return check_runtime_dir(dist)


@pytest.fixture
def tiny_checkpoint(tmp_path) -> Path:
    """A small johnson-light training checkpoint (width 8, two residual blocks): exports in a second."""
    import torch

    from brushwork.models.checkpoint import save_checkpoint
    from brushwork.models.transformer_net import build_transformer

    kwargs = {"width": 8, "depth": 2, "output": "tanh"}
    net = build_transformer("johnson-light", **kwargs)
    path = tmp_path / "student.pt"
    save_checkpoint(path, {"kind": "model", "arch": "johnson-light", "arch_kwargs": kwargs, "step": 321,
                           "model": {k: v.to(torch.float32) for k, v in net.state_dict().items()},
                           "config": {"image_size": 96}, "style": {"name": "test", "sha256": "ab" * 32}})
    return path
