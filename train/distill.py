"""Distillation: a small student network learns to reproduce a trained style model, for real time on a CPU.

    brushwork distill starry_night --data photos/ -o starry_fast.onnx          # student --arch johnson-fast
    brushwork train --teacher runs/starry --arch johnson-fast --data photos/   # the same run, without the export

The teacher (a checkpoint, run directory, fp32/fp16 .onnx export or shipped style name) stylizes each training
crop and the student is fitted to its picture with an L1 loss on the pixels. No painting, no VGG and no Gram
matrices: the student's target is one image per photo, which it learns in a small fraction of the teacher's
steps, and each step costs one teacher forward pass plus the small student's forward and backward. L1 rather
than L2: it trains to a higher PSNR for image-to-image networks (Lim et al., EDSR, 2017) and does not let a few
saturated pixels dominate the gradient.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import BrushworkError
from ..data.images import list_images, open_rgb, resize_to_side
from ..models.checkpoint import model_from_checkpoint
from ..models.export import ExportWrapper, psnr
from ..models.transformer_net import TransformerNet
from ..models.weights import read_model

PSNR_PHOTOS, PSNR_SIDE = 8, 512  # how `brushwork distill` reports a student: photos of --data, longest side


def load_teacher(source: str) -> tuple[TransformerNet, dict]:
    """The frozen teacher network (float32, eval) and a record of it: source, path, sha256, arch, step, style."""
    found = read_model(source, "--teacher")
    as_checkpoint = {"arch": found["arch"], "arch_kwargs": found["arch_kwargs"], "model": found["state"]}
    try:
        net = model_from_checkpoint(as_checkpoint)
    except (BrushworkError, TypeError) as e:  # TypeError: options of a newer brushwork
        raise BrushworkError(f"--teacher {source}: {e}") from None
    for p in net.parameters():
        p.requires_grad_(False)
    record = {k: found[k] for k in ("source", "path", "sha256", "arch", "arch_kwargs", "step")}
    return net.float().eval(), {**record, "style": found["style"]}


class DistillLoss(nn.Module):
    """L1 between the student's picture and the teacher's on the same photos."""

    def __init__(self, teacher: nn.Module):
        super().__init__()
        self.teacher = teacher

    @torch.no_grad()
    def targets(self, x: torch.Tensor) -> torch.Tensor:
        return self.teacher(x)

    def forward(self, y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(y.float(), target.float())


# ---- how close a student came -------------------------------------------------------------------------------

def student_psnr(teacher: str, student_onnx: Path, photos: str, count: int = PSNR_PHOTOS,
                 side: int = PSNR_SIDE) -> dict:
    """PSNR of the exported student against the teacher (torch, fp32) on `count` photos spread over the folder."""
    paths = list_images(photos)
    if not paths:
        raise BrushworkError(f"--data {photos}: no photos to measure the student on")
    picks = [paths[round(i * (len(paths) - 1) / max(1, count - 1))] for i in range(min(count, len(paths)))]
    scores = [psnr(out, reference) for _, _, reference, out in teacher_and_student(teacher, student_onnx, picks, side)]
    return {"photos": len(scores), "mean": float(np.mean(scores)), "worst": float(np.min(scores))}


def teacher_and_student(teacher: str, student_onnx: Path, paths: list[Path], side: int):
    """(path, photo, teacher's picture in torch fp32, student's through onnxruntime) per photo, longest side `side`."""
    from ..infer.engine.session import Stylizer

    net, _ = load_teacher(teacher)
    wrapper, student = ExportWrapper(net).eval(), Stylizer(student_onnx, device="cpu")
    for path in paths:
        image = np.asarray(resize_to_side(open_rgb(path), side), dtype=np.uint8)
        with torch.no_grad():
            reference = wrapper(torch.from_numpy(image.copy())[None])[0].numpy()
        yield path, image, reference, student(image)
