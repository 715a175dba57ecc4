"""The Gatys optimizer: it lowers the shared perceptual loss, writes what it says, keeps colours, refuses bad input."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.cli import main
from brushwork.infer.look.color import rgb_to_ycbcr
from brushwork.train.gatys.config import GatysConfig
from brushwork.train.gatys.optimize import build_loss, color_inputs, initial_image, iterate, to_tensor


def _stripes(height: int, width: int) -> np.ndarray:
    """A 'painting': coloured diagonal stripes (strong texture, colours unlike the photos)."""
    yy, xx = np.mgrid[0:height, 0:width]
    palette = np.array([[230, 200, 40], [30, 60, 200], [200, 40, 60]], dtype=np.uint8)
    return palette[((xx + yy) // 4) % 3]


def _photo(seed: int, height: int, width: int) -> np.ndarray:
    """A smooth 'photo': low-frequency colour waves plus mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    waves = [np.sin(2 * np.pi * (rng.uniform(0.5, 3) * yy + rng.uniform(0.5, 3) * xx) + c) for c in range(3)]
    image = (np.stack(waves, -1) + 1) * 110 + 15 + rng.normal(0, 3, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny():
    """A 40x48 photo, and the Gatys-layer loss against a 48x48 style image (VGG built once for the module)."""
    cfg = GatysConfig(content="c.png", styles=["s.png"], size=48)
    return _photo(3, 40, 48), cfg, build_loss(cfg, [_stripes(48, 48)], torch.device("cpu"))


@pytest.mark.parametrize("optimizer,init", [("lbfgs", "content"), ("lbfgs", "noise"),
                                            ("adam", "content"), ("adam", "noise")])
def test_loss_decreases(tiny, optimizer, init):
    content_rgb, base, loss = tiny
    cfg = GatysConfig(**{**base.to_dict(), "optimizer": optimizer, "init": init, "steps": 8})
    content = to_tensor(content_rgb, torch.device("cpu"))
    x = initial_image(init, content, seed=0)
    start = x.clone()
    totals = [float(terms.total) for _, terms in iterate(cfg, loss, content, x)]
    assert len(totals) == 8 and all(np.isfinite(totals))
    assert totals[-1] < 0.8 * totals[0], totals
    assert not torch.equal(x, start) and x.min() >= 0 and x.max() <= 1  # pixels moved and stayed showable


@pytest.mark.slow
@pytest.mark.parametrize("init", ["content", "noise"])
def test_lbfgs_never_rises(tiny, init):
    """The reference must not get worse with more iterations: torch's L-BFGS without a line search rose again
    after ~50 iterations (and from noise came out noisy), so every comparison against it was doubtful."""
    content_rgb, base, loss = tiny
    cfg = GatysConfig(**{**base.to_dict(), "init": init, "steps": 100, "style_weight": 10.0})
    content = to_tensor(content_rgb, torch.device("cpu"))
    totals = [float(terms.total) for _, terms in iterate(cfg, loss, content, initial_image(init, content, seed=0))]
    assert all(b <= a for a, b in pairwise(totals)), "the loss rose between iterations"
    assert totals[99] <= totals[49] < 0.5 * totals[0], (totals[0], totals[49], totals[99])


def test_lbfgs_cuts_an_overlong_step():
    """A quartic bowl with a wild first curvature estimate: the line search cuts the step back instead of
    jumping far out (where f is orders of magnitude larger) as a fixed step would."""
    from brushwork.train.gatys.lbfgs import BoxLBFGS

    x = torch.full((64,), 0.9, requires_grad=True)
    target = torch.linspace(0.1, 0.6, 64)

    def closure():
        x.grad = None
        total = 1e4 * ((x - target) ** 4).sum() + ((x - target) ** 2).sum()
        total.backward()
        return type("Terms", (), {"total": total.detach()})()

    optimizer = BoxLBFGS(x, history=5)
    totals = [float(optimizer.step(closure).total) for _ in range(30)]
    assert all(b <= a for a, b in pairwise(totals))
    assert totals[-1] < 1e-3 * totals[0] and x.min() >= 0 and x.max() <= 1


def test_noise_init_is_seeded_noise():
    content = torch.full((1, 3, 8, 8), 0.5)
    a, b = initial_image("noise", content, 1), initial_image("noise", content, 1)
    assert torch.equal(a, b) and a.std() > 0.2 and torch.equal(initial_image("content", content, 1), content)


def _write_inputs(tmp_path, photo_size=(40, 56)):
    content, style = tmp_path / "photo.png", tmp_path / "style.png"
    Image.fromarray(_photo(1, *photo_size)).save(content)
    Image.fromarray(_stripes(48, 48)).save(style)
    return content, style


def test_cli_writes_result_and_intermediates(tmp_path, capsys):
    content, style = _write_inputs(tmp_path)
    out = tmp_path / "out" / "result.png"
    rc = main(["gatys", "--content", str(content), "--style", str(style), "--size", "32", "--steps", "4",
               "--save-every", "2", "--optimizer", "adam", "-o", str(out)])
    assert rc == 0
    assert Image.open(out).size == (32, 23)  # longest side --size, aspect kept (40x56 photo)
    assert (tmp_path / "out" / "result_00002.png").is_file()
    assert not (tmp_path / "out" / "result_00004.png").exists()  # the last step is the result itself
    assert "wrote" in capsys.readouterr().out


@pytest.mark.slow
def test_style_mashup_lies_between_its_styles(tmp_path):
    """0.7 stripes + 0.3 photo-like texture: unlike either single-style result, nearer the stripes' one, and about
    on the way between the two (measured: distances 6.8 and 15.6 grey levels, 21.8 between the single results)."""
    content, style = _write_inputs(tmp_path)
    second = tmp_path / "second.png"
    Image.fromarray(_photo(9, 48, 48)).save(second)

    def run(name, *args):
        out = tmp_path / f"result_{name}.png"
        rc = main(["gatys", "--content", str(content), "--style", *map(str, args), "--size", "32", "--steps", "5",
                   "--layers", "johnson", "-o", str(out)])
        assert rc == 0
        return np.asarray(Image.open(out), dtype=float)

    first_only, second_only = run("first", style), run("second", second)
    mash = run("mash", style, second, "--style-blend", "0.7,0.3")
    to_first, to_second = np.abs(mash - first_only).mean(), np.abs(mash - second_only).mean()
    apart = np.abs(first_only - second_only).mean()
    assert apart > 10 and to_first > 2 and to_second > 2  # the styles pull apart; the mash-up is neither
    assert to_first < 0.7 * to_second  # weighted towards the first style
    assert to_first + to_second < 1.2 * apart  # between the two, not off somewhere else


def test_luminance_preservation_keeps_the_photos_chroma(tmp_path):
    content, style = _write_inputs(tmp_path)
    out = tmp_path / "lum.png"
    rc = main(["gatys", "--content", str(content), "--style", str(style), "--size", "32", "--steps", "3",
               "--preserve-color", "luminance", "-o", str(out)])
    assert rc == 0
    result = np.asarray(Image.open(out).convert("RGB"))
    photo = np.asarray(Image.open(content).convert("RGB").resize(result.shape[1::-1], Image.Resampling.LANCZOS))
    chroma_error = np.abs(rgb_to_ycbcr(result)[..., 1:] - rgb_to_ycbcr(photo)[..., 1:])
    assert np.median(chroma_error) < 2.0  # only uint8 rounding and clipping separate the chroma
    style_chroma = np.abs(rgb_to_ycbcr(_stripes(23, 32))[..., 1:] - rgb_to_ycbcr(photo)[..., 1:])
    assert np.median(style_chroma) > 10 * max(np.median(chroma_error), 0.5)  # and the style's colours are far


def test_colour_inputs_follow_gatys_2016():
    content, style = _photo(2, 40, 40), _stripes(48, 48)
    _, (recoloured,) = color_inputs("histogram", content, [style])
    assert np.allclose(recoloured.reshape(-1, 3).mean(0), content.reshape(-1, 3).mean(0), atol=3)
    gray_content, (gray_style,) = color_inputs("luminance", content, [style])
    assert (gray_content[..., 0] == gray_content[..., 2]).all() and (gray_style[..., 0] == gray_style[..., 1]).all()
    y = rgb_to_ycbcr(content)[..., 0]
    assert abs(gray_style[..., 0].mean() - y.mean()) < 3 and abs(gray_style[..., 0].std() - y.std()) < 3


@pytest.mark.parametrize("extra,needle", [
    (["--steps", "0"], "--steps"),
    (["--steps", "-3"], "--steps"),
    (["--size", "100000"], "GiB"),
    (["--style-size", "90000"], "GiB"),
    (["--size", "8"], "--size"),
    (["--style-blend", "1,2"], "--style-blend"),
    (["--style-layers", "relu9_9"], "relu9_9"),
    (["--optimizer", "adam", "--lr", "0"], "--lr"),
    (["--content-weight", "-1"], "--content-weight"),
])
def test_bad_options_fail_in_one_line(tmp_path, capsys, extra, needle):
    content, style = _write_inputs(tmp_path)
    out = tmp_path / "never.png"
    rc = main(["gatys", "--content", str(content), "--style", str(style), "-o", str(out), *extra])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("brushwork gatys: error:") and "\n" not in err and needle in err, err
    assert not out.exists()


def test_bad_files_fail_in_one_line(tmp_path, capsys):
    content, style = _write_inputs(tmp_path)
    broken = tmp_path / "broken.jpg"
    broken.write_text("not an image")
    cases = [(["--content", str(broken), "--style", str(style)], "broken.jpg"),
             (["--content", str(content), "--style", str(tmp_path / "missing.jpg")], "missing.jpg"),
             (["--content", str(content), "--style", str(style), "-o", str(content)], "input"),
             (["--content", str(content), "--style", str(style), "-o", str(tmp_path / "out.txt")], ".txt")]
    if not torch.cuda.is_available():
        cases.append((["--content", str(content), "--style", str(style), "--device", "cuda"], "--device"))
    for args, needle in cases:
        argv = ["gatys", *args] if "-o" in args else ["gatys", *args, "-o", str(tmp_path / "o.png")]
        rc = main(argv)
        err = capsys.readouterr().err.strip()
        assert rc == 2 and err.startswith("brushwork gatys: error:") and "\n" not in err and needle in err, err
    assert not (tmp_path / "o.png").exists()
    assert Image.open(content).size == (56, 40)  # the input named as output was not touched


def test_existing_outputs_need_overwrite(tmp_path, capsys):
    """The result and the --save-every intermediates are never replaced without --overwrite; inputs never are."""
    content, style = _write_inputs(tmp_path)
    out = tmp_path / "result.png"
    base = ["gatys", "--content", str(content), "--style", str(style), "--size", "32", "--steps", "3",
            "--optimizer", "adam", "-o", str(out)]
    for existing, extra in ((out, []), (tmp_path / "result_00002.png", ["--save-every", "2"])):
        existing.write_bytes(b"earlier result")
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("brushwork gatys: error:") and "\n" not in err, err
        assert str(existing) in err and "--overwrite" in err
        assert existing.read_bytes() == b"earlier result"
        existing.unlink()
    out.write_bytes(b"earlier result")
    (tmp_path / "result_00002.png").write_bytes(b"earlier result")
    assert main([*base, "--save-every", "2", "--overwrite"]) == 0
    assert Image.open(out).size == (32, 23) and Image.open(tmp_path / "result_00002.png").size == (32, 23)
    assert main(["gatys", "--content", str(content), "--style", str(style), "-o", str(content), "--overwrite"]) == 2
    assert "input" in capsys.readouterr().err and Image.open(content).size == (56, 40)
