"""Colour preservation keeps the content's chroma (luminance) or its colour statistics (histogram)."""

import numpy as np
import pytest

from brushwork.infer.look.color import blend, match_color, preserve_color, rgb_to_ycbcr, ycbcr_to_rgb


def _images():
    rng = np.random.default_rng(0)
    content = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    stylized = (rng.random((20, 30, 3)) * [250, 40, 90]).astype(np.uint8)  # strongly red-tinted "style"
    return content, stylized


def test_ycbcr_round_trip():
    content, _ = _images()
    assert np.abs(ycbcr_to_rgb(rgb_to_ycbcr(content)) - content).max() < 1e-3


def test_luminance_keeps_content_chroma_and_stylized_luma():
    content, stylized = _images()
    out = preserve_color(content, stylized, "luminance")
    c, s, o = rgb_to_ycbcr(content), rgb_to_ycbcr(stylized), rgb_to_ycbcr(out)
    inside = ((out > 0) & (out < 255)).all(-1)  # pixels that did not clip to 0..255
    assert inside.mean() > 0.3
    assert np.abs(o[..., 0] - s[..., 0])[inside].mean() < 2.0
    assert np.abs(o[..., 1:] - c[..., 1:])[inside].mean() < 2.5
    assert np.abs(s[..., 1:] - c[..., 1:]).mean() > 20  # the test would notice a no-op


def test_histogram_matches_mean_and_covariance():
    content, stylized = _images()
    out = preserve_color(content, stylized, "histogram")
    assert np.allclose(out.reshape(-1, 3).mean(0), content.reshape(-1, 3).mean(0), atol=2.0)
    cov_o, cov_c = np.cov(out.reshape(-1, 3).T.astype(float)), np.cov(content.reshape(-1, 3).T.astype(float))
    assert np.abs(cov_o - cov_c).max() < 0.05 * np.abs(cov_c).max()


def test_match_color_accepts_different_sizes():
    content, stylized = _images()
    assert match_color(stylized[:10], content).shape == (10, 30, 3)


def test_none_and_unknown():
    content, stylized = _images()
    assert preserve_color(content, stylized, None) is stylized
    with pytest.raises(ValueError, match="luminance"):
        preserve_color(content, stylized, "lab")


def test_blend_strength():
    content, stylized = _images()
    assert np.array_equal(blend(content, stylized, 0.0), content)
    assert np.array_equal(blend(content, stylized, 1.0), stylized)
    half = blend(content, stylized, 0.5).astype(int)
    assert np.abs(half - (content.astype(int) + stylized) / 2).max() <= 1


@pytest.mark.parametrize("method", ["luminance", "histogram"])
def test_a_one_pixel_picture_keeps_its_colour(method, make_invert_model, tmp_path):
    """A 1x1 picture has no covariance to match (the sample covariance divided by zero): a 500 in the server and a
    crash in the CLI; now its colour is the photo's."""
    from PIL import Image

    from brushwork.cli import main

    photo = np.full((1, 1, 3), (200, 40, 90), np.uint8)
    out = preserve_color(photo, 255 - photo, method)
    assert out.shape == (1, 1, 3) and np.isfinite(out.astype(float)).all()
    Image.fromarray(photo).save(tmp_path / "dot.png")
    model = make_invert_model(tmp_path / "invert.onnx")
    assert main(["stylize", str(tmp_path / "dot.png"), "-o", str(tmp_path / "out.png"), "--model", str(model),
                 "--preserve-color", method, "--quiet"]) == 0
    assert Image.open(tmp_path / "out.png").size == (1, 1)
