"""Tiled stylization: tiles share the whole image's instance-norm statistics, so small tiles do not seam.

A tiny random network keeps export fast; 32 px tiles on a 100x70 image make seams show if they are there.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import torch

from brushwork import BrushworkError
from brushwork.infer.tiling import DEFAULT_BLEND, TiledStylizer, axis_weights, plan_axis, seam_ratio
from brushwork.models.export import psnr
from brushwork.models.tiled import TiledStylizerGraph, export_tiled, tiled_path
from brushwork.models.transformer_net import TransformerNet

TINY_NORM_LAYERS = 7  # 3 downsampling + 2 (one residual block) + 2 upsampling


@pytest.fixture(scope="module")
def tiny_net():
    torch.manual_seed(0)
    return TransformerNet(width=4, depth=1).eval()


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, tiny_net):
    """`tiny.onnx` with its companion `tiny.tiled.onnx` (the main file itself is not needed here)."""
    path = tmp_path_factory.mktemp("tiled") / "tiny.onnx"
    export_tiled(tiny_net, path, {"producer": "brushwork", "arch": "tiny"})
    return path


def make_photo(height: int, width: int) -> np.ndarray:
    """A 'photo': smooth colour waves, a hard edge and mild noise (conftest's fixtures are per test)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:height, 0:width] / width
    image = np.stack([np.sin(2 * np.pi * (rng.uniform(0.5, 3) * yy + rng.uniform(0.5, 3) * xx) + c)
                      for c in range(3)], -1) * 90 + 128
    image[:, :width // 3] += 40
    return np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def photo():
    return make_photo(70, 100)


def untiled(model_path, image):
    return TiledStylizer(model_path, device="cpu", tile=512)(image)


def test_plan_axis_partitions_and_aligns():
    for length, tile, margin, blend in [(100, 32, 8, 8), (1080, 512, 56, 16), (4320, 1148, 56, 16), (72, 64, 24, 8)]:
        spans = plan_axis(length, tile, margin, blend)
        assert spans[0].core_start == 0 and spans[-1].core_stop == length
        for a, b in itertools.pairwise(spans):
            assert a.core_stop == b.core_start and a.trust_stop - b.trust_start >= max(blend, 4)
            assert a.trust_start <= a.core_start < a.core_stop <= a.trust_stop
        for s in spans:
            assert s.start % 4 == 0 and s.stop - s.start == min(tile, length) and 0 <= s.start and s.stop <= length
            assert s.trust_start - s.start in (0, margin) and s.stop - s.trust_stop in (0, margin)


def test_blend_weights_sum_to_one_and_stay_in_trusted_part():
    spans = plan_axis(300, 96, 16, 16)
    total = np.zeros(300)
    for s, w in zip(spans, axis_weights(spans, 16)):
        total[s.start:s.stop] += w
        x = np.arange(s.start, s.stop)
        assert np.all(w[(x < s.trust_start) | (x >= s.trust_stop)] == 0)
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_tile_graph_equals_the_network(tiny_net, model_path, photo):
    """With its own statistics over the whole input, the tile graph is the ordinary network."""
    image = np.ascontiguousarray(photo[:68])  # multiple of 4
    with torch.no_grad():
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
        expected = (tiny_net(x).clamp(0, 1) * 255)[0].permute(1, 2, 0).numpy()
    stylizer = TiledStylizer(model_path, device="cpu", tile=512)
    got, _ = stylizer._run(image, stylizer._zero_stats(), 0.0, (0, 68, 0, 100))
    assert np.abs(got - expected).max() < 0.05


def test_exact_statistics_and_full_margin_give_the_untiled_image(model_path, photo):
    """Margin >= receptive radius and one refine pass per norm layer: tiles reproduce the whole-image run."""
    stylizer = TiledStylizer(model_path, device="cpu", tile=64, blend=8, refine=TINY_NORM_LAYERS)
    assert stylizer.margin >= 20  # measured at export: 9x9 convs, 2 downsamplings, a residual block
    rows, cols = stylizer.layout(*photo.shape[:2])
    assert len(rows) * len(cols) > 1
    diff = np.abs(stylizer(photo).astype(int) - untiled(model_path, photo))
    assert diff.max() <= 1


def test_small_tiles_shared_statistics_beat_naive_tiling(model_path, photo):
    """32 px tiles with 8 px of context (a third of the receptive radius): shared statistics plus blending keep
    the borders as smooth as the untiled image there; per-tile statistics with hard cuts seam."""
    reference = untiled(model_path, photo)
    shared = TiledStylizer(model_path, device="cpu", tile=32, margin=8, blend=8, refine=TINY_NORM_LAYERS)
    naive = TiledStylizer(model_path, device="cpu", tile=32, margin=0, blend=0, shared_stats=False)
    out_shared, out_naive = shared(photo), naive(photo)
    rows, cols = shared.layout(*photo.shape[:2])
    assert len(rows) >= 3 and len(cols) >= 4
    assert psnr(out_shared, reference) > 18
    assert psnr(out_naive, reference) < psnr(out_shared, reference) - 8
    naive_layout = naive.layout(*photo.shape[:2])
    assert seam_ratio(out_naive, *naive_layout) > 1.5 * seam_ratio(reference, *naive_layout)
    assert abs(seam_ratio(out_shared, rows, cols) / seam_ratio(reference, rows, cols) - 1) < 0.15


def test_default_settings_with_small_tiles_hide_the_borders(model_path):
    """What `stylize --tile 72` runs: only the tile size given, so one refine pass (first layer's statistics
    exact), the receptive radius as margin and the default blend. Measured on this 140x200 photo with 170 tiles:
    18.0 dB to the untiled image (thumbnail statistics alone 16.6, naive tiling 12.6) and a border gradient
    ratio within 3 % of the untiled image's (naive tiling: 2.4 times it). The tiny random net is far more
    sensitive to its statistics than a trained one, hence the low dB; the bounds leave about 1 dB of margin."""
    photo = make_photo(140, 200)
    reference = untiled(model_path, photo)
    default = TiledStylizer(model_path, device="cpu", tile=72)
    assert default.refine == 1 and default.blend == DEFAULT_BLEND and default.margin >= 20
    rows, cols = default.layout(*photo.shape[:2])
    assert len(rows) * len(cols) >= 100
    out = default(photo)
    thumbnail_only = TiledStylizer(model_path, device="cpu", tile=72, refine=0)(photo)
    naive = TiledStylizer(model_path, device="cpu", tile=72, margin=0, blend=0, shared_stats=False)
    assert psnr(out, reference) > 17 and psnr(out, reference) > psnr(thumbnail_only, reference) + 0.8
    assert psnr(naive(photo), reference) < psnr(out, reference) - 4
    assert abs(seam_ratio(out, rows, cols) / seam_ratio(reference, rows, cols) - 1) < 0.1
    naive_layout = naive.layout(*photo.shape[:2])
    assert seam_ratio(naive(photo), *naive_layout) > 1.5 * seam_ratio(reference, *naive_layout)


def test_each_refine_pass_brings_the_output_closer_to_untiled(model_path, photo):
    """Thumbnail statistics (refine 0), then layer after layer made exact; all layers exact = untiled."""
    reference = untiled(model_path, photo)
    scores = [psnr(TiledStylizer(model_path, device="cpu", tile=64, blend=8, refine=r)(photo), reference)
              for r in (0, 1, 4, TINY_NORM_LAYERS)]
    assert scores == sorted(scores) and scores[-1] > 50


def test_max_memory_picks_a_tile_that_grows_with_the_budget(model_path, photo):
    small = TiledStylizer(model_path, device="cpu", max_memory=150 * 2**20)
    large = TiledStylizer(model_path, device="cpu", max_memory=2 * 2**30)
    assert 68 <= small.tile_for_budget(1080, 1920) < large.tile_for_budget(1080, 1920)
    with pytest.raises(BrushworkError, match="--max-memory"):
        small.tile_for_budget(4320, 7680)  # the 8K input and output frames alone take 190 MB
    assert large.tile_for_budget(70, 100) >= 100  # a small frame runs whole
    assert small(photo).shape == photo.shape


@pytest.mark.parametrize("kwargs, message", [
    ({"tile": 32}, "too small for this model"),
    ({"tile": 64, "max_memory": 2**30}, "not both"),
    ({"max_memory": 50 * 2**20}, "--max-memory"),
])
def test_bad_settings_are_one_line_errors(model_path, photo, kwargs, message):
    with pytest.raises(BrushworkError, match=message) as info:
        TiledStylizer(model_path, device="cpu", **kwargs)(photo)
    assert "\n" not in str(info.value)


def test_missing_companion_file_says_how_to_export(tmp_path):
    model = tmp_path / "starry.onnx"
    model.write_bytes(b"not used")
    with pytest.raises(BrushworkError, match=r"starry\.tiled\.onnx.*brushwork export"):
        TiledStylizer(model, tile=256)


def test_bad_frames_are_rejected(model_path):
    stylizer = TiledStylizer(model_path, device="cpu", tile=96)
    for frame in (np.zeros((70, 100), np.uint8), np.zeros((70, 100, 3), np.float32), np.zeros((0, 100, 3), np.uint8)):
        with pytest.raises(BrushworkError):
            stylizer(frame)


@pytest.mark.parametrize("size", [(1, 1), (3, 97), (97, 3), (4, 100)])
def test_frames_smaller_than_the_network_are_padded_and_cropped_back(model_path, photo, size):
    """Below 8 px a side the network cannot run: the frame is mirrored up to 8 and the output cropped back."""
    stylizer = TiledStylizer(model_path, device="cpu", tile=72)  # 97 px: several tiles
    h, w = size
    frame = photo[:h, :w]
    out = stylizer(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8
    mode = "edge" if min(h, w) == 1 else "reflect"
    padded = np.pad(frame, ((0, max(0, 8 - h)), (0, max(0, 8 - w)), (0, 0)), mode=mode)
    assert np.array_equal(out, stylizer(padded)[:h, :w])


def test_companion_metadata_and_names(model_path, tiny_net):
    stylizer = TiledStylizer(model_path, device="cpu", tile=96)
    assert stylizer.metadata["arch"] == "tiny" and "tiled_io" in stylizer.metadata
    assert len(stylizer.layers) == TINY_NORM_LAYERS == len(TiledStylizerGraph(tiny_net).layers)
    assert tiled_path("a/starry.onnx").name == "starry.tiled.onnx"
    assert tiled_path("a/starry.tiled.onnx").name == "starry.tiled.onnx"


def test_tiling_runtime_does_not_import_torch():
    code = "import sys, brushwork.infer.tiling; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_stylize_cli_with_tiles(model_path, photo, tmp_path):
    """`brushwork stylize IMAGE -o OUT --model M.onnx --tile N` runs the tile graph beside M.onnx."""
    from PIL import Image

    from brushwork.cli import main

    source, target = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(photo).save(source)
    assert main(["stylize", str(source), "-o", str(target), "--model", str(model_path), "--tile", "72",
                 "--device", "cpu"]) == 0
    expected = TiledStylizer(model_path, device="cpu", tile=72)(photo)
    np.testing.assert_array_equal(np.asarray(Image.open(target)), expected)
