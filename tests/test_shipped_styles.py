"""The styles that ship in the package: each loads, carries its measured quality, meets the shipping rule as
recorded (docs/quality.md), stylizes a real photo to its size, and paints calm edges (no fringe). One test per
shipped style (docs/quality.md "Shipped styles"); in a checkout with none they are not collected, and the
default-style test skips saying so."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from brushwork.infer import Stylizer
from brushwork.infer.engine.contract import WEIGHTS_SHA256_KEY
from brushwork.infer.engine.tiling import TiledStylizer
from brushwork.styles import list_styles, quality_line, style_path
from brushwork.train.evaluate.edges import edge_roughness

SHIPPED = list_styles()
PHOTO = Path(__file__).resolve().parent.parent / "data" / "samples" / "photo.jpg"  # ships with the package (CC0)


def _files(entry):
    return [("full", style_path(entry["name"], quality="full"))] + (
        [("fast", style_path(entry["name"], quality="fast"))] if entry.get("student") else [])


@pytest.mark.parametrize("entry", SHIPPED, ids=[s["name"] for s in SHIPPED])
def test_a_shipped_style_meets_the_rule_it_records(entry):
    q = entry["quality"]
    assert q["ratio_gatys100"] <= 1.75 and q["edge_roughness"] <= 1.3 and q["photos"] >= 5 and q["size"] == 256
    assert q["images"] > 0 and q["hours"] > 0 and q["hardware"]
    assert "Gatys@100" in quality_line(entry)
    meta = Stylizer(style_path(entry["name"]), device="cpu").metadata
    assert json.loads(meta["quality"]) == q  # the file itself says what the index says
    assert meta["precision"] == "fp16" and meta["style_name"] and int(meta["edge_margin"]) > 0


@pytest.mark.parametrize("entry", SHIPPED, ids=[s["name"] for s in SHIPPED])
def test_a_shipped_style_paints_a_photo_with_calm_edges(entry):
    image = Image.open(PHOTO).convert("RGB")
    image.thumbnail((256, 256))
    photo = np.asarray(image)
    for kind, path in _files(entry):
        out = Stylizer(path, device="cpu")(photo)
        assert out.shape == photo.shape and out.dtype == np.uint8, kind
        assert np.abs(out.astype(int) - photo.astype(int)).mean() > 10, kind  # painted, not passed through
        assert edge_roughness(out) <= 1.3, (kind, edge_roughness(out))
        small = Stylizer(path, device="cpu")(photo[:5, :7])  # tiny pictures too
        assert small.shape == (5, 7, 3), kind


@pytest.mark.parametrize("entry", SHIPPED, ids=[s["name"] for s in SHIPPED])
def test_a_shipped_tile_graph_reads_its_weights_from_the_model_and_paints_the_same(entry):
    """Each tile graph keeps its weights in the model file beside it (models/shared_weights.py: the wheel carries
    them once) and still paints what the whole network paints, in strips."""
    image = Image.open(PHOTO).convert("RGB")
    image.thumbnail((192, 192))
    photo = np.asarray(image)
    for kind, path in _files(entry):
        tiled = TiledStylizer(path, device="cpu", tile=64)
        assert WEIGHTS_SHA256_KEY in tiled.metadata, kind
        assert tiled.path.stat().st_size < path.stat().st_size / 2, kind  # the program, not a second copy
        difference = np.abs(tiled(photo).astype(int) - Stylizer(path, device="cpu")(photo).astype(int))
        assert difference.max() <= 2 and difference.mean() < 0.05, (kind, difference.max(), difference.mean())


@pytest.mark.skipif(not SHIPPED, reason="no style ships in this checkout (docs/quality.md, the shipping rule)")
def test_stylize_without_a_model_paints_in_the_default_style(tmp_path, capsys):
    from brushwork.cli import main

    image = Image.open(PHOTO).convert("RGB")
    image.thumbnail((160, 160))
    image.save(tmp_path / "photo.jpg")
    assert main(["stylize", str(tmp_path / "photo.jpg"), "-o", str(tmp_path / "out.jpg")]) == 0
    assert SHIPPED[0]["name"] in capsys.readouterr().err  # the model line names the default style's file
    out = np.asarray(Image.open(tmp_path / "out.jpg"))
    assert out.shape == np.asarray(image).shape and np.abs(out.astype(int) - np.asarray(image).astype(int)).mean() > 10
