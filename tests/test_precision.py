"""Every precision a machine may choose, forced on any machine: the `--amp auto` table with the hardware faked,
training, exact resume, distillation and `bench train` in fp32, bf16 and fp16 on the CPU (torch's CPU autocast runs
both half types on any x86 CPU, only slower), and a decision that is made once and recorded."""

import os
import signal

import pytest
import torch
import yaml

from brushwork.cli import main
from brushwork.models.checkpoint import load_checkpoint
from brushwork.train import loop, precision, rng
from brushwork.train.config import TrainConfig
from brushwork.train.loop import fit

AMPS = ["off", "bf16", "fp16"]


def tiny(photo_dir, style_path, tmp_path, **kw) -> TrainConfig:
    options = {"style": str(style_path), "data": str(photo_dir), "out": str(tmp_path / "runs"),
               "arch": "johnson-light", "image_size": 32, "style_size": 48, "batch_size": 2, "steps": 2,
               "workers": 0, "log_every": 1, "sample_every": 100, "ckpt_every": 1}
    return TrainConfig(**{**options, **kw})


# ---------------------------------------------------------------------------------------------- the choice
@pytest.mark.parametrize(("has_bf16", "seconds", "expected"), [
    (False, None, "off"),                                   # an AVX2-only CPU: never times anything
    (True, {"bf16": 1.0, "fp32": 1.7}, "bf16"),             # Zen 4: bf16 faster
    (True, {"bf16": 1.4, "fp32": 1.0}, "off"),              # a Xeon without AMX: bf16 slower
    (True, {"bf16": 0.95, "fp32": 1.0}, "off"),             # within 10 %: not worth the precision
])
def test_auto_on_the_cpu(monkeypatch, has_bf16, seconds, expected):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: has_bf16)

    def timed(dtype):
        assert seconds is not None, "a CPU without bf16 must not be timed"
        return seconds[precision.NAMES[None if dtype == torch.float32 else dtype]]

    monkeypatch.setattr(precision, "_conv_seconds", timed)
    name, why = precision.choose("auto", torch.device("cpu"))
    assert name == expected and why


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp16")])  # H100 / T4, V100
def test_auto_on_cuda(monkeypatch, native, expected):
    asked = []

    def is_bf16_supported(including_emulation=True):
        asked.append(including_emulation)
        return native or including_emulation  # torch calls emulated bf16 "supported" on a T4 too

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    assert precision.choose("auto", torch.device("cuda"))[0] == expected
    assert asked == [False]


@pytest.mark.parametrize("mode", AMPS)
def test_explicit_modes_are_never_timed(monkeypatch, mode):
    monkeypatch.setattr(precision, "_conv_seconds", lambda dtype: pytest.fail("timed an explicit --amp"))
    for device in ("cpu", "cuda"):
        assert precision.choose(mode, torch.device(device)) == (mode, "as asked")
    assert precision.amp_dtype(mode, torch.device("cpu")) is precision.DTYPES[mode]


# ---------------------------------------------------------------------------------------------- training
@pytest.mark.parametrize("amp", AMPS)
def test_training_in_every_precision(photo_dir, style_path, tmp_path, capsys, amp):
    """Two steps: the optimizer steps from the first step on (fp16: the gradient scaler starts where these losses
    fit), the painting's targets stay float32, and the precision is printed and recorded."""
    built = []
    real_init = loop.Trainer.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        built.append(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loop.Trainer, "__init__", init)
        result = fit(tiny(photo_dir, style_path, tmp_path, amp=amp, name=amp))
    (trainer,) = built
    assert result.step == 2 and result.model_path.is_file()
    assert trainer.dtype is precision.DTYPES[amp]
    assert {buf.dtype for name, buf in trainer.loss.named_buffers() if name.startswith("gram_")} == {torch.float32}
    assert trainer.optimizer.state_dict()["state"][0]["step"] == 2  # no step skipped by the scaler
    assert f"precision: {precision.NAMES[precision.DTYPES[amp]]} (--amp {amp}: as asked)" in capsys.readouterr().out
    assert yaml.safe_load((result.run_dir / "config.yaml").read_text())["amp"] == amp
    assert load_checkpoint(result.run_dir / "checkpoints" / "step_0000002.pt")["config"]["amp"] == amp


@pytest.mark.slow
@pytest.mark.parametrize("amp", AMPS)
def test_resume_is_exact_in_every_precision(photo_dir, style_path, tmp_path, monkeypatch, one_thread, amp):
    """4 straight steps == Ctrl-C after 2 + resume, bit for bit, in each precision (fp16: the scaler's state too)."""
    straight = fit(tiny(photo_dir, style_path, tmp_path, amp=amp, name="straight", steps=4))
    real_step = loop.Trainer.step

    def interrupted_step(self, batch, step, lr=None):
        scalars = real_step(self, batch, step, lr)
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return scalars

    monkeypatch.setattr(loop.Trainer, "step", interrupted_step)
    assert fit(tiny(photo_dir, style_path, tmp_path, amp=amp, name="split", steps=4, ckpt_every=100)).interrupted
    monkeypatch.setattr(loop.Trainer, "step", real_step)
    resumed = fit(tiny(photo_dir, style_path, tmp_path, amp=amp, name="split", steps=4))
    a, b = load_checkpoint(straight.model_path), load_checkpoint(resumed.model_path)
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    sa, sb = (load_checkpoint(r.run_dir / "checkpoints" / "step_0000004.pt")["scaler"] for r in (straight, resumed))
    assert sa == sb


def test_auto_is_decided_once_and_a_resumed_run_keeps_it(photo_dir, style_path, tmp_path, monkeypatch, capsys):
    """`auto` under load can flip between processes: the run records what it chose and a resume reuses it."""
    monkeypatch.setattr(loop, "choose", lambda mode, device: ("bf16", "faked: bf16 faster"))
    first = fit(tiny(photo_dir, style_path, tmp_path, name="auto", steps=1))
    assert "precision: bf16 (--amp auto: faked: bf16 faster)" in capsys.readouterr().out
    assert yaml.safe_load((first.run_dir / "config.yaml").read_text())["amp"] == "bf16"
    monkeypatch.setattr(loop, "choose", lambda mode, device: pytest.fail("re-timed on resume"))
    resumed = fit(tiny(photo_dir, style_path, tmp_path, name="auto", steps=2))
    assert resumed.step == 2 and "precision: bf16 (recorded in the checkpoint)" in capsys.readouterr().out
    assert load_checkpoint(resumed.model_path)["config"]["amp"] == "bf16"


def test_an_explicit_precision_on_resume_wins_and_says_so(photo_dir, style_path, tmp_path, capsys):
    fit(tiny(photo_dir, style_path, tmp_path, name="switch", steps=1, amp="bf16"))
    capsys.readouterr()
    fit(tiny(photo_dir, style_path, tmp_path, name="switch", steps=2, amp="off"))
    assert "precision: fp32 (--amp off: as asked); the checkpoint was trained in bf16" in capsys.readouterr().out


def test_distill_in_bf16(photo_dir, style_path, tmp_path):
    teacher = fit(tiny(photo_dir, style_path, tmp_path, name="teacher", steps=1, amp="off"))
    student = fit(TrainConfig(teacher=str(teacher.run_dir), data=str(photo_dir), out=str(tmp_path / "runs"),
                              arch="johnson-fast", image_size=32, batch_size=2, steps=2, workers=0, amp="bf16",
                              log_every=1, sample_every=100, ckpt_every=100))
    assert student.step == 2 and load_checkpoint(student.model_path)["config"]["amp"] == "bf16"


@pytest.mark.slow
def test_bench_train_with_its_default_precisions(capsys):
    """The CPU's default rows are fp32 and bf16 (the bf16 row crashed every CPU once)."""
    assert main(["bench", "train", "--size", "32", "--batch-sizes", "2", "--modes", "eager", "--steps", "1",
                 "--warmup", "1", "--arch", "johnson-light", "--device", "cpu"]) == 0
    rows = [line.split()[:3] for line in capsys.readouterr().out.splitlines() if line.startswith("eager")]
    assert rows == [["eager", "fp32", "2"], ["eager", "bf16", "2"]]


# ---------------------------------------------------------------------------------------------- resuming elsewhere
def test_resume_a_checkpoint_from_a_machine_with_more_gpus(monkeypatch):
    """CUDA RNG states of 4 GPUs restore on a machine with 1 (or none): each GPU that exists takes its own."""
    state = rng.rng_state()
    state["cuda"] = [torch.full((16,), i, dtype=torch.uint8) for i in range(4)]
    restored = {}

    def set_rng_state(new_state, device=0):
        if int(device) >= 1:
            raise RuntimeError(f"CUDA error: invalid device ordinal {device}")
        restored[int(device)] = int(new_state[0])

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state", set_rng_state)
    rng.set_rng_state(state)
    assert restored == {0: 0}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rng.set_rng_state(state)  # no GPU at all: the CPU states still restore
    assert torch.equal(torch.get_rng_state(), state["torch"])
