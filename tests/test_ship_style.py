"""scripts/ship_style.py: a student brought back as an .onnx (what a GPU run returns) ships with its tile graph and
its training record read from the file's metadata."""

import pytest

from brushwork.cli import main


def test_a_student_onnx_ships_with_its_tile_graph_and_record(tiny_checkpoint, tmp_path, load_script):
    ship_style = load_script("ship_style")
    exported = tmp_path / "gpu" / "test.fast.onnx"
    exported.parent.mkdir()
    assert main(["export", str(tiny_checkpoint), "-o", str(exported)]) == 0  # and test.fast.tiled.onnx beside it
    shipped = tmp_path / "styles" / "test.fast.onnx"
    shipped.parent.mkdir()

    record = ship_style.ship_student(exported, shipped)

    assert record == {"arch": "johnson-light", "steps": 321, "image_size": 96}
    assert shipped.read_bytes() == exported.read_bytes()
    tiled = "test.fast.tiled.onnx"
    assert (shipped.parent / tiled).read_bytes() == (exported.parent / tiled).read_bytes()


def test_a_student_onnx_without_its_tile_graph_is_refused(tiny_checkpoint, tmp_path, load_script):
    ship_style = load_script("ship_style")
    exported = tmp_path / "test.fast.onnx"
    assert main(["export", str(tiny_checkpoint), "-o", str(exported), "--no-tiling"]) == 0
    with pytest.raises(SystemExit, match="tile graph test.fast.tiled.onnx is missing"):
        ship_style.ship_student(exported, tmp_path / "shipped.fast.onnx")
