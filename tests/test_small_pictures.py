"""Pictures smaller than the network's 8x8 minimum, on real exported networks of every kind: fp32, fp16 and
int8 files (the tiled one is in test_tiling.py). The frame is mirrored up to 8 px, run, and cropped back.

A tiny random TransformerNet keeps the exports quick; its graph has the reflection pads that fail below 8 px.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.cli import main
from brushwork.infer import Stylizer
from brushwork.models.export import export_onnx
from brushwork.models.quantize import quantize_int8
from brushwork.models.transformer_net import TransformerNet

SIZES = [(1, 1), (3, 97), (97, 3), (5, 6)]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{precision: path} for one tiny network exported as fp32, fp16 and int8."""
    folder = tmp_path_factory.mktemp("small")
    torch.manual_seed(0)
    net = TransformerNet(width=4, depth=1).eval()
    paths = {"fp32": folder / "m.onnx", "fp16": folder / "m16.onnx", "int8": folder / "m8.onnx"}
    export_onnx(net, paths["fp32"], {"producer": "brushwork"})
    export_onnx(net, paths["fp16"], {"producer": "brushwork"}, fp16=True)
    calibration = [np.random.default_rng(i).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8) for i in range(2)]
    quantize_int8(paths["fp32"], paths["int8"], calibration, {"producer": "brushwork"})
    return paths


def test_the_network_itself_needs_eight_pixels(models):
    """Why the padding exists: the raw session refuses a 3-pixel side."""
    session = Stylizer(models["fp32"], device="cpu").session
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime raises its own untyped errors
        session.run(None, {"image": np.zeros((1, 3, 97, 3), np.uint8)})


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_every_model_kind_stylizes_tiny_frames(models, precision):
    stylizer = Stylizer(models[precision], device="cpu")
    rng = np.random.default_rng(1)
    for h, w in SIZES:
        frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        out = stylizer(frame)
        assert out.shape == frame.shape and out.dtype == np.uint8
        mode = "edge" if min(h, w) == 1 else "reflect"
        side = 8 + 9  # the network's 8 pixels, and more than the edge margin of 16 that its file reflects
        assert stylizer.min_side == side
        padded = np.pad(frame, ((0, max(0, side - h)), (0, max(0, side - w)), (0, 0)), mode=mode)
        assert np.array_equal(out, stylizer(padded)[:h, :w])


def test_cli_on_a_one_pixel_png(models, tmp_path):
    Image.fromarray(np.full((1, 1, 3), 200, np.uint8)).save(tmp_path / "dot.png")
    assert main(["stylize", str(tmp_path / "dot.png"), "-o", str(tmp_path / "out.png"), "--model",
                 str(models["fp16"]), "--quiet"]) == 0
    assert Image.open(tmp_path / "out.png").size == (1, 1)
