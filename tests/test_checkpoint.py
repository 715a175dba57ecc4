"""Training checkpoints: RNG state as plain data, choosing what to resume from, refusing the wrong file."""

import random

import numpy as np
import pytest
import torch

from brushwork import BrushworkError
from brushwork.models.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from brushwork.models.transformer_net import build_transformer
from brushwork.train.config import TrainConfig
from brushwork.train.resume import find_resume, load_resume
from brushwork.train.rng import rng_state, set_rng_state


def _draws():
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]


def test_rng_state_survives_a_weights_only_checkpoint(tmp_path):
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    save_checkpoint(tmp_path / "c.pt", {"kind": "checkpoint", "arch": "johnson-light", "model": {}, "rng": rng_state()})
    expected = _draws()
    set_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])  # loaded with weights_only=True
    assert _draws() == expected


def _cfg(tmp_path, **kw):
    return TrainConfig(style="starry.jpg", data="photos", out=str(tmp_path), **kw)


def _write(path, kind="checkpoint", arch="johnson-light"):
    state = {"kind": kind, "arch": arch, "model": build_transformer(arch).state_dict(), "step": 1}
    if kind == "checkpoint":
        state["optimizer"] = {"state": {}, "param_groups": []}
    save_checkpoint(path, state)
    return path


def test_checkpoints_without_the_output_bound_load_unbounded(tmp_path):
    """Files written before the scaled-tanh output keep the network they were trained with."""
    torch.manual_seed(0)
    net = build_transformer("johnson-light", output="linear")
    save_checkpoint(tmp_path / "old.pt", {"kind": "model", "arch": "johnson-light", "model": net.state_dict()})
    save_checkpoint(tmp_path / "new.pt", {"kind": "model", "arch": "johnson-light", "arch_kwargs": {"output": "tanh"},
                                          "model": net.state_dict()})
    old = model_from_checkpoint(load_checkpoint(tmp_path / "old.pt"))
    new = model_from_checkpoint(load_checkpoint(tmp_path / "new.pt"))
    assert (old.output, new.output) == ("linear", "tanh")
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(old(x), net.eval()(x)) and not torch.equal(new(x), old(x))


def test_auto_resumes_the_newest_and_ignores_temp_files(tmp_path):
    cfg = _cfg(tmp_path)
    assert find_resume(cfg) is None
    ckpts = cfg.run_dir / "checkpoints"
    _write(ckpts / "step_0000002.pt")
    _write(ckpts / "step_0000010.pt")
    (ckpts / ".step_0000020.pt.abc.tmp").write_bytes(b"half written")
    assert find_resume(cfg).name == "step_0000010.pt"
    assert find_resume(_cfg(tmp_path, resume=str(cfg.run_dir))).name == "step_0000010.pt"
    with pytest.raises(BrushworkError, match="--resume never.*already holds checkpoints"):
        find_resume(_cfg(tmp_path, resume="never"))


def test_resume_path_must_exist(tmp_path):
    with pytest.raises(BrushworkError, match="--resume .*nope.pt: no such checkpoint"):
        find_resume(_cfg(tmp_path, resume=str(tmp_path / "nope.pt")))


def test_resume_refuses_a_final_model_and_another_arch(tmp_path):
    model = _write(tmp_path / "model.pt", kind="model")
    with pytest.raises(BrushworkError, match="without optimizer state"):
        load_resume(model, _cfg(tmp_path, arch="johnson-light"))
    ckpt = _write(tmp_path / "step.pt", arch="johnson-light")
    with pytest.raises(BrushworkError, match="--arch johnson-light"):
        load_resume(ckpt, _cfg(tmp_path, arch="johnson"))
    assert load_resume(ckpt, _cfg(tmp_path, arch="johnson-light"))["step"] == 1


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "step_0000001.pt"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(BrushworkError, match="corrupt"):
        load_resume(path, _cfg(tmp_path))
