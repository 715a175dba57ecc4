"""The tile graph's weights stored once: its tensors read from the main export's own bytes.

    share_weights(Path("styles/starry.tiled.onnx"), Path("styles/starry.onnx"))   # scripts/ship_style.py does this

A tile graph (models/tiled.py) holds the same convolution weights as the main export, byte for byte (fp16 in both for
an fp16 export): shipped as they are, every style carried its weights twice (3.4 of its 8.4 MB). ONNX can keep a
tensor outside the graph, as `location`/`offset`/`length` in a file beside it, and that file may be any file: here it
is the main .onnx itself, whose protobuf stores each initializer's raw bytes contiguously. So the main export stays
a normal, self-contained model (the browser, `export-web` and every copy of it work as before), and the tile graph
points into it. onnxruntime reads the bytes when it opens the tile graph from its path.

The offsets are only right for the exact main file they were taken from, so the tile graph records that file's
name and sha256 (contract.py WEIGHTS_IN_KEY, WEIGHTS_SHA256_KEY) and the runtime refuses it, in one line, if the main
file changed (infer/engine/tiling.py). Share as the last step, after the main file's metadata is final.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..infer.engine.contract import WEIGHTS_IN_KEY, WEIGHTS_SHA256_KEY
from .export import save_model_atomic, set_metadata

MIN_BYTES = 256  # smaller tensors (biases, shapes) stay inside the tile graph: not worth a reference


def share_weights(tiled: Path, model: Path) -> int:
    """Point every tensor of `tiled` that appears byte for byte in `model` at those bytes; return the bytes saved.
    Both files must sit in one folder (external data is found relative to the graph's own folder)."""
    import onnx
    from onnx import numpy_helper

    if tiled.parent.resolve() != model.parent.resolve():
        raise ValueError(f"{tiled} and {model} must be in one folder")
    blob = model.read_bytes()
    proto = onnx.load(str(tiled))  # also reads tensors it already shares, so sharing again is harmless
    saved = 0
    for i, tensor in enumerate(proto.graph.initializer):
        array = numpy_helper.to_array(tensor)
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()  # as ONNX stores raw data: little-endian
        offset = blob.find(data) if len(data) >= MIN_BYTES else -1
        if offset < 0:
            continue
        pointer = onnx.TensorProto(name=tensor.name, data_type=tensor.data_type, dims=tensor.dims,
                                   data_location=onnx.TensorProto.EXTERNAL)
        for key, value in (("location", model.name), ("offset", str(offset)), ("length", str(len(data)))):
            pointer.external_data.append(onnx.StringStringEntryProto(key=key, value=value))
        proto.graph.initializer[i].CopyFrom(pointer)
        saved += len(data)
    meta = {p.key: p.value for p in proto.metadata_props}
    set_metadata(proto, {**meta, WEIGHTS_IN_KEY: model.name, WEIGHTS_SHA256_KEY: hashlib.sha256(blob).hexdigest()})
    save_model_atomic(proto, tiled)
    return saved
