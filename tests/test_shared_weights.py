"""models/shared_weights.py: a tile graph that reads its weights from the main export's bytes computes exactly what
the self-contained one does, leaves the main file as it was, and is refused in one line once the main file changes."""

import shutil

import numpy as np
import pytest

from brushwork import BrushworkError
from brushwork.cli import main
from brushwork.infer.engine.tiling import TiledStylizer
from brushwork.models.export import save_model_atomic, set_metadata
from brushwork.models.shared_weights import share_weights


@pytest.fixture
def exports(tiny_checkpoint, tmp_path):
    """The same fp16 export twice: as written (own/) and with the tile graph's weights shared (shared/)."""
    own = tmp_path / "own" / "tiny.onnx"
    own.parent.mkdir()
    assert main(["export", str(tiny_checkpoint), "-o", str(own), "--fp16"]) == 0
    shared = tmp_path / "shared" / "tiny.onnx"
    shutil.copytree(own.parent, shared.parent)
    return own, shared


def test_the_shared_tile_graph_computes_the_same_and_is_smaller(exports):
    own, shared = exports
    main_bytes = shared.read_bytes()
    saved = share_weights(shared.with_name("tiny.tiled.onnx"), shared)

    tiled_own, tiled_shared = own.with_name("tiny.tiled.onnx"), shared.with_name("tiny.tiled.onnx")
    assert saved > 0 and tiled_shared.stat().st_size <= tiled_own.stat().st_size - saved + 1024
    assert shared.read_bytes() == main_bytes  # the main export is untouched: still a self-contained model
    photo = np.random.default_rng(0).integers(0, 256, (70, 101, 3), dtype=np.uint8)
    for tile in (512, 16):  # one strip per layer, and many
        expected = TiledStylizer(own, device="cpu", tile=tile)(photo)
        assert np.array_equal(TiledStylizer(shared, device="cpu", tile=tile)(photo), expected)


def test_a_changed_main_file_is_refused_in_one_line(exports):
    import onnx

    _, shared = exports
    share_weights(shared.with_name("tiny.tiled.onnx"), shared)
    proto = onnx.load(str(shared))  # e.g. a later edit of its metadata: every offset moves
    set_metadata(proto, {**{p.key: p.value for p in proto.metadata_props}, "note": "edited"})
    save_model_atomic(proto, shared)

    with pytest.raises(BrushworkError, match=r"tiny.tiled.onnx: its weights are stored in tiny.onnx, which has "
                                             r"changed since; export the model again") as error:
        TiledStylizer(shared, device="cpu", tile=64)
    assert "\n" not in str(error.value)
