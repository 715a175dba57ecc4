"""On a CUDA GPU (skipped without one): training in the precisions a GPU picks, resume, and the fp16 export on
onnxruntime's CUDA provider against its CPU provider. Run with `python -m pytest -m gpu` where a GPU is lent."""

import numpy as np
import pytest
import torch

from brushwork.cli import main
from brushwork.models.checkpoint import load_checkpoint
from brushwork.train import precision
from brushwork.train.config import TrainConfig
from brushwork.train.loop import fit

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")]


def tiny(photo_dir, style_path, tmp_path, **kw) -> TrainConfig:
    options = {"style": str(style_path), "data": str(photo_dir), "out": str(tmp_path / "runs"), "device": "cuda",
               "arch": "johnson-light", "image_size": 32, "style_size": 48, "batch_size": 2, "steps": 2,
               "workers": 0, "log_every": 1, "sample_every": 100, "ckpt_every": 1}
    return TrainConfig(**{**options, **kw})


@pytest.mark.parametrize("amp", ["auto", "fp16"])
def test_train_and_resume_on_cuda(photo_dir, style_path, tmp_path, capsys, amp):
    first = fit(tiny(photo_dir, style_path, tmp_path, amp=amp, name=amp))
    chosen = load_checkpoint(first.run_dir / "checkpoints" / "step_0000002.pt")
    expected = amp if amp != "auto" else precision.choose("auto", torch.device("cuda"))[0]
    assert chosen["config"]["amp"] == expected and chosen["optimizer"]["state"][0]["step"] == 2
    resumed = fit(tiny(photo_dir, style_path, tmp_path, amp=amp, name=amp, steps=4))
    assert resumed.step == 4 and "(step 2)" in capsys.readouterr().out
    assert load_checkpoint(resumed.model_path)["config"]["amp"] == expected


def test_fp16_export_on_the_cuda_provider_matches_the_cpu(photo_dir, style_path, tmp_path):
    import onnxruntime as ort

    from brushwork.infer import Stylizer

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("this onnxruntime has no CUDA provider (pip install onnxruntime-gpu)")
    run = fit(tiny(photo_dir, style_path, tmp_path, amp="auto", name="export"))
    model = tmp_path / "m.onnx"
    assert main(["export", str(run.run_dir), "-o", str(model), "--fp16", "--no-tiling"]) == 0
    frame = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    on_gpu, on_cpu = Stylizer(model, device="cuda"), Stylizer(model, device="cpu")
    assert on_gpu.provider == "CUDAExecutionProvider"
    diff = np.abs(on_gpu(frame).astype(int) - on_cpu(frame).astype(int))
    assert diff.mean() < 1.0 and diff.max() <= 8, (diff.mean(), diff.max())
