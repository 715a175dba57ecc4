"""scripts/photos_from_gcompris.py: photographs found inside Qt resource files by their signatures."""

import io

import numpy as np
from PIL import Image


def encoded(size, fmt, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt)
    return buf.getvalue()


def test_pictures_are_found_between_other_data_and_small_ones_dropped(tmp_path, load_script):
    script = load_script("photos_from_gcompris")
    junk = b"qres\x00\x00" + b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\xff\xd8\xff\x00broken" + bytes(range(256))
    rcc = {activity: junk for activity in script.ACTIVITIES}
    rcc["explore_monuments"] = (junk + encoded((400, 320), "JPEG", 0) + junk + encoded((1500, 600), "WEBP", 1)
                                + encoded((64, 64), "JPEG", 2) + junk)  # an icon: dropped
    for activity, blob in rcc.items():
        (tmp_path / f"{activity}.rcc").write_bytes(blob)
    out = tmp_path / "photos"

    assert script.extract(tmp_path, out, "gcompris-qt-data_test.deb") == 2

    sizes = sorted(Image.open(p).size for p in out.glob("*.jpg"))
    assert sizes == [(400, 320), (1024, 410)]  # the large one brought to at most 1024 px, aspect kept
    rows = (out / "SOURCES.tsv").read_text().splitlines()
    assert rows[0].startswith("file\tsize") and len(rows) == 3
    assert all("gcompris-qt-data_test.deb (explore_monuments.rcc)" in row for row in rows[1:])
