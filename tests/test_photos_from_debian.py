"""scripts/photos_from_debian.py: the listed photos of an unpacked package, saved upright and bounded, with sources."""

import numpy as np
from PIL import Image


def test_extract_saves_each_listed_photo_with_its_source(tmp_path, load_script):
    script = load_script("photos_from_debian")
    package = "scribus-template"
    root, out = tmp_path / "x", tmp_path / "out"
    out.mkdir()
    for i, path in enumerate(script.PHOTOS[package][1]):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        pixels = np.random.default_rng(i).integers(0, 256, (1200, 1600, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / path)

    rows = script.extract(package, root, out, "scribus-template_test.deb")

    assert len(rows) == len(script.PHOTOS[package][1]) == len(list(out.glob("*.jpg")))
    with Image.open(out / "scribus-template__cal2_moon.jpg") as im:  # br2/moon.jpg is another picture
        assert im.size == (1024, 768)
    assert all("public domain" in row and "scribus-template_test.deb" in row for row in rows)


def test_every_listed_photo_gets_its_own_file_name(load_script):
    script = load_script("photos_from_debian")
    names = [script.photo_name(package, path) for package, (_, paths) in script.PHOTOS.items() for path in paths]
    assert len(names) == len(set(names)) == 57
