"""Warm starts: `brushwork train --init SOURCE` begins from another model's weights instead of random ones.

SOURCE is a checkpoint (.pt), a run directory, an exported .onnx file (fp32 or fp16) or the name of a style
that ships with brushwork. Every weight is fine-tuned, with a fresh optimizer and step counter: a new style
starts from the strokes-and-shapes machinery another style already learned, which is most of the work (the
networks of different styles differ mostly in colour and texture).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from .. import BrushworkError
from ..models.export import resolve_checkpoint

ONNX_PREFIX = "net."  # models/export.py wraps the network as ExportWrapper.net
WEIGHTLESS_OPTIONS = {"output"}  # architecture options without weights of their own: any value seeds any


def load_init(source: str, arch: str) -> tuple[dict[str, torch.Tensor], dict]:
    """The state dict to start from and a record of where it came from; the architecture must be `arch`."""
    path = _resolve(source)
    if path.suffix.lower() == ".onnx":
        state, source_arch, step = _from_onnx(path, source)
    else:
        state, source_arch, step = _from_checkpoint(path)
    if source_arch != arch:
        raise BrushworkError(f"--init {source} is a {source_arch} model and this run's --arch is {arch}; "
                             f"pass --arch {source_arch} or --init a {arch} model")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return state, {"source": source, "path": str(path), "sha256": digest, "arch": source_arch, "step": step}


def _resolve(source: str) -> Path:
    path = Path(source)
    if path.exists():
        if path.is_dir() or path.suffix.lower() in (".pt", ".pth", ".onnx"):
            return resolve_checkpoint(path) if path.is_dir() else path
        raise BrushworkError(f"--init {source}: not a checkpoint (.pt), run directory or .onnx model")
    from ..infer.styles import list_styles, style_path

    if source in {s["name"] for s in list_styles()}:
        return style_path(source)
    raise BrushworkError(f"--init {source}: no such file, run directory or shipped style "
                         "(`brushwork styles` lists the styles)")


def _from_checkpoint(path: Path) -> tuple[dict, str, int | None]:
    from ..models.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path)
    if set(ckpt.get("arch_kwargs") or {}) - WEIGHTLESS_OPTIONS:
        raise BrushworkError(f"--init {path}: architecture options {ckpt['arch_kwargs']} cannot seed a training run")
    return ckpt["model"], ckpt["arch"], ckpt.get("step")


def _from_onnx(path: Path, source: str) -> tuple[dict, str, int | None]:
    """The network's weights are the ONNX file's initializers named net.<state dict key> (fp16 is widened)."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
    except Exception as e:  # noqa: BLE001 -- any parse failure means "not a usable model"
        raise BrushworkError(f"--init {source}: not a readable ONNX model ({type(e).__name__})") from None
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("producer") != "brushwork":
        raise BrushworkError(f"--init {source}: not a `brushwork export` file (no brushwork metadata)")
    if meta.get("precision") == "int8" or set(json.loads(meta.get("arch_kwargs") or "{}")) - WEIGHTLESS_OPTIONS:
        raise BrushworkError(f"--init {source}: an {meta.get('precision')} export cannot seed training; "
                             "use the fp32 or fp16 export, or the run directory")
    state = {}
    for tensor in model.graph.initializer:
        if tensor.name.startswith(ONNX_PREFIX):
            array = numpy_helper.to_array(tensor).astype(np.float32)
            state[tensor.name[len(ONNX_PREFIX):]] = torch.from_numpy(array.copy())
    step = meta.get("training_step")
    return state, meta.get("arch", ""), int(step) if step and step.isdigit() else None


def apply_init(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load `state` into `model`; every weight must be there with the right shape."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        raise BrushworkError(f"--init {source}: its weights do not fit this network "
                             f"(missing {missing[:3]}, other shapes {wrong[:3]})")
    model.load_state_dict({k: state[k].to(own[k].dtype) for k in own})
