"""Stylizer: an onnxruntime session over an exported brushwork model (no torch).

    from brushwork.infer import Stylizer
    stylizer = Stylizer("starry.onnx", device="auto")   # CUDA when the session really gets it, else CPU
    out = stylizer(frame)                                # uint8 (H, W, 3) RGB -> same shape
    outs = stylizer.batch(frames)                        # uint8 (N, H, W, 3) -> same shape
    picture = stylizer("photo.jpg")                      # a path or a PIL image -> an upright PIL image,
                                                         # the photo's EXIF and ICC profile in picture.info

The model does all per-pixel work itself (uint8 NHWC in and out, see models/export.py), so a call is one
session.run with no numpy arithmetic around it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from ... import BrushworkError
from .contract import INPUT_NAME, edge_margin, min_input_side
from .padding import empty_check, pad_to_min_side

TORCH_SUFFIXES = (".pt", ".pth", ".ckpt")


class StylizerLike(Protocol):
    """What the runtime asks of a stylizer; Stylizer and infer/engine/tiling.py's TiledStylizer both are one."""

    path: Path  # the .onnx file the session runs
    provider: str  # the onnxruntime execution provider it got
    metadata: dict[str, str]  # the file's metadata_props (infer/engine/contract.py METADATA_KEYS)

    def __call__(self, frame): ...  # uint8 (H, W, 3) RGB -> same shape; a path or PIL image -> a PIL image

    def batch(self, frames: np.ndarray) -> np.ndarray: ...  # uint8 (N, H, W, 3) RGB -> same shape


class Frames:
    """The two calls that every stylizer answers, with their checks; a subclass says how it runs frames (`_frames`,
    and `_frame` if one frame runs differently from a batch of one)."""

    def __call__(self, frame):
        """One uint8 (H, W, 3) RGB frame -> the stylized frame, same shape.

        A path or a PIL image -> a PIL image, as `brushwork stylize` reads it (upright, any mode, any size)
        with the photo's metadata in `.info` (see infer/media/pictures.py).
        """
        if not isinstance(frame, np.ndarray):
            from ..media.pictures import stylize_picture

            return stylize_picture(self, frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
            raise ValueError(f"expected a uint8 (H, W, 3) RGB frame, got {frame.dtype} {frame.shape}")
        empty_check(frame[None])
        return self._frame(frame)

    def batch(self, frames: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, 3) RGB frames (same size, any size but 0) -> stylized, same shape."""
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"expected uint8 (N, H, W, 3) RGB frames, got {frames.dtype} {frames.shape}")
        empty_check(frames)
        return self._frames(frames)

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        return self._frames(frame[None])[0]

    def _frames(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxModel(Frames):
    """An exported file opened with onnxruntime: its session, provider and metadata."""

    def __init__(self, path: Path, device: str, threads: int | None, arena: bool = True):
        self.path = path
        self.session = open_session(path, device, threads, arena)
        self.provider = self.session.get_providers()[0]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)


class Stylizer(OnnxModel):
    """Stylize uint8 RGB frames with an exported model.

    Args:
        model_path: a .onnx file written by `brushwork export`.
        device: "auto" (CUDA if it really works, else CPU), "cpu", "cuda" or "cuda:N".
        threads: intra-op threads on CPU (None: onnxruntime's default, one per core).
        arena: onnxruntime's CPU memory arena (faster on small frames; False bounds the memory, see open_session).
    """

    def __init__(self, model_path: str | os.PathLike, *, device: str = "auto", threads: int | None = None,
                 arena: bool = True):
        path = Path(model_path)
        check_model_path(path)
        super().__init__(path, device, threads, arena)
        self.min_side = min_input_side(edge_margin(self.metadata))
        check_io(self.session, self.path)

    def _frames(self, frames: np.ndarray) -> np.ndarray:
        padded, (h, w) = pad_to_min_side(frames, self.min_side)  # smaller than the file takes: padded, cropped back
        out = self.session.run(None, {INPUT_NAME: np.ascontiguousarray(padded)})[0]
        return out if padded is frames else np.ascontiguousarray(out[:, :h, :w])

    def __repr__(self) -> str:
        return f"Stylizer({str(self.path)!r}, provider={self.provider!r})"


def check_model_path(path: Path) -> None:
    """Reject what is not an exported model before onnxruntime prints a page of C++ errors."""
    if path.suffix.lower() in TORCH_SUFFIXES:
        raise BrushworkError(f"{path} is a training checkpoint; export it first: "
                             f"`brushwork export {path} -o {path.with_suffix('.onnx').name}`, then pass the .onnx")
    if path.is_dir():
        raise BrushworkError(f"{path} is a folder; give the .onnx file (`brushwork export {path} -o model.onnx` "
                             "turns a run folder into one)")
    if not path.is_file():
        raise BrushworkError(f"{path}: no such model file")


def providers_for(device: str) -> list:
    """onnxruntime execution providers for a --device value, most wanted first."""
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "auto":
        cuda = "CUDAExecutionProvider" in ort.get_available_providers() and _cuda_device_present()
        return (["CUDAExecutionProvider"] if cuda else []) + ["CPUExecutionProvider"]
    if device == "cuda" or device.startswith("cuda:"):
        index = device.partition(":")[2] or "0"
        if not index.isdigit():
            raise BrushworkError(f"--device {device}: expected cuda or cuda:N with N a GPU number")
        return [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]
    raise BrushworkError(f"--device {device}: expected auto, cpu, cuda or cuda:N")


def runs_on_cpu(device: str) -> bool:
    """Whether a model opened with --device `device` will run on the CPU (no CUDA provider or no GPU)."""
    return providers_for(device)[0] == "CPUExecutionProvider"


def _cuda_device_present() -> bool:
    # Without a GPU, asking onnxruntime-gpu for CUDA prints errors before it falls back; look for a driver first.
    return Path("/dev/nvidiactl").exists() or os.name == "nt"


def open_session(path: Path, device: str, threads: int | None, arena: bool = True):
    """An InferenceSession on the wanted device; BrushworkError if the file is not a loadable ONNX model."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: fallback warnings are reported by us, in one line
    options.add_session_config_entry("session.set_denormal_as_zero", "1")  # denormals cost 100x on x86, look like 0
    # onnxruntime's CPU memory arena keeps what a run allocated and grows again on the next: a 1080p frame of the
    # johnson fp16 net peaked at 2.29 GiB on the first run and 3.68 GiB from the second on; without the arena 1.47 GiB,
    # as fast at 1080p and ~6 % slower at 640x360 (docs/benchmarks.md). Where memory is bounded (serve), run without.
    options.enable_cpu_mem_arena = arena
    if threads:
        options.intra_op_num_threads = threads
    providers = providers_for(device)
    # A failed CUDA load prints a screen of library errors; we check the provider we got and say it in one line.
    ort.set_default_logger_severity(4 if len(providers) > 1 else 3)
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except BrushworkError:
        raise
    except Exception as e:  # noqa: BLE001 - onnxruntime raises several untyped errors for bad files
        first_line = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise BrushworkError(f"{path}: not a loadable ONNX model ({first_line}); export one with "
                             "`brushwork export RUN -o model.onnx`") from None
    if device.startswith("cuda") and session.get_providers()[0] != "CUDAExecutionProvider":
        raise BrushworkError(f"--device {device}: onnxruntime could not use CUDA here (no GPU, driver or CUDA "
                             "libraries); use --device cpu or auto")
    return session


def check_io(session, path: Path) -> None:
    """The file must follow the brushwork I/O convention: uint8 (N, H, W, 3) in, uint8 out."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    ok = (len(inputs) == 1 and inputs[0].name == INPUT_NAME and inputs[0].type == "tensor(uint8)"
          and len(inputs[0].shape) == 4 and inputs[0].shape[-1] == 3
          and len(outputs) >= 1 and outputs[0].type == "tensor(uint8)")
    if not ok:
        found = ", ".join(f"{i.name} {i.type} {i.shape}" for i in inputs)
        raise BrushworkError(f"{path}: not a brushwork model (inputs: {found}; expected one '{INPUT_NAME}' "
                             "uint8 [N, H, W, 3]); export one with `brushwork export RUN -o model.onnx`")
