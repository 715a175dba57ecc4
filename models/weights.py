"""A trained network's weights and identity from any file that holds them: a checkpoint, a run directory, an
exported .onnx file (fp32 or fp16: its initializers are the weights) or the name of a shipped style. Warm starts
(train/warm_start.py) and teachers (train/distill.py) read models through this.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from .. import BrushworkError
from ..styles import model_files
from .run_layout import resolve_checkpoint

ONNX_PREFIX = "net."  # models/export.py wraps the network as ExportWrapper.net


def read_model(source: str, flag: str) -> dict:
    """A trained model's weights and identity from a checkpoint, run directory, .onnx export or shipped style name:
    {state, arch, arch_kwargs, step, style, source, path, sha256}. `flag` names the option in error messages."""
    path = model_files(source, flag, checkpoints=True)[0]
    if path.is_dir():
        path = resolve_checkpoint(path)  # a run folder: its newest checkpoint
    found = _from_onnx(path, source, flag) if path.suffix.lower() == ".onnx" else _from_checkpoint(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {**found, "source": source, "path": str(path), "sha256": digest}


def _from_checkpoint(path: Path) -> dict:
    from .checkpoint import arch_kwargs, deployable_weights, load_checkpoint

    ckpt = load_checkpoint(path)
    return {"state": deployable_weights(ckpt), "arch": ckpt["arch"], "arch_kwargs": arch_kwargs(ckpt),
            "step": ckpt.get("step"), "style": ckpt.get("style") or {}}


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
