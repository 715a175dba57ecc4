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
from ..models.run_layout import resolve_checkpoint

ONNX_PREFIX = "net."  # models/export.py wraps the network as ExportWrapper.net
WEIGHTLESS_OPTIONS = {"output"}  # architecture options without weights of their own: any value seeds any


def load_init(source: str, arch: str) -> tuple[dict[str, torch.Tensor], dict]:
    """The state dict to start from and a record of where it came from; the architecture must be `arch`."""
    found = read_model(source, "--init")
    if set(found["arch_kwargs"]) - WEIGHTLESS_OPTIONS:
        raise BrushworkError(f"--init {source}: architecture options {found['arch_kwargs']} cannot seed a "
                             "training run")
    if found["arch"] != arch:
        raise BrushworkError(f"--init {source} is a {found['arch']} model and this run's --arch is {arch}; "
                             f"pass --arch {found['arch']} or --init a {arch} model")
    record = {k: found[k] for k in ("source", "path", "sha256", "arch", "step")}
    return found["state"], record


def read_model(source: str, flag: str) -> dict:
    """A trained model's weights and identity from a checkpoint, run directory, .onnx export or shipped style name:
    {state, arch, arch_kwargs, step, style, source, path, sha256}. `flag` names the option in error messages."""
    path = _resolve(source, flag)
    found = _from_onnx(path, source, flag) if path.suffix.lower() == ".onnx" else _from_checkpoint(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {**found, "source": source, "path": str(path), "sha256": digest}


def _resolve(source: str, flag: str) -> Path:
    path = Path(source)
    if path.exists():
        if path.is_dir() or path.suffix.lower() in (".pt", ".pth", ".onnx"):
            return resolve_checkpoint(path) if path.is_dir() else path
        raise BrushworkError(f"{flag} {source}: not a checkpoint (.pt), run directory or .onnx model")
    from ..infer.styles import list_styles, style_path

    if source in {s["name"] for s in list_styles()}:
        return style_path(source)
    raise BrushworkError(f"{flag} {source}: no such file, run directory or shipped style "
                         "(`brushwork styles` lists the styles)")


def _from_checkpoint(path: Path) -> dict:
    from ..models.checkpoint import arch_kwargs, load_checkpoint

    ckpt = load_checkpoint(path)
    return {"state": ckpt["model"], "arch": ckpt["arch"], "arch_kwargs": arch_kwargs(ckpt), "step": ckpt.get("step"),
            "style": ckpt.get("style") or {}}


def _from_onnx(path: Path, source: str, flag: str) -> dict:
    """The network's weights are the ONNX file's initializers named net.<state dict key> (fp16 is widened)."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
    except Exception as e:  # noqa: BLE001 -- any parse failure means "not a usable model"
        raise BrushworkError(f"{flag} {source}: not a readable ONNX model ({type(e).__name__})") from None
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("producer") != "brushwork":
        raise BrushworkError(f"{flag} {source}: not a `brushwork export` file (no brushwork metadata)")
    if meta.get("precision") == "int8":
        raise BrushworkError(f"{flag} {source}: an int8 export's weights are not the model's; "
                             "use the fp32 or fp16 export, or the run directory")
    state = {}
    for tensor in model.graph.initializer:
        if tensor.name.startswith(ONNX_PREFIX):
            array = numpy_helper.to_array(tensor).astype(np.float32)
            state[tensor.name[len(ONNX_PREFIX):]] = torch.from_numpy(array.copy())
    step = meta.get("training_step")
    # Files written before the bounded output existed have no "output" and were trained unbounded.
    kwargs = {"output": "linear", **json.loads(meta.get("arch_kwargs") or "{}")}
    style = {"name": meta.get("style_name", ""), "sha256": meta.get("style_sha256", "")}
    return {"state": state, "arch": meta.get("arch", ""), "arch_kwargs": kwargs,
            "step": int(step) if step and step.isdigit() else None, "style": style}


def apply_init(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load `state` into `model`; every weight must be there with the right shape."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        raise BrushworkError(f"--init {source}: its weights do not fit this network "
                             f"(missing {missing[:3]}, other shapes {wrong[:3]})")
    model.load_state_dict({k: state[k].to(own[k].dtype) for k in own})
