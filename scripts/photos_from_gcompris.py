"""More training photos, offline: the photographs inside Debian's gcompris-qt-data (an educational game).

    python scripts/photos_from_gcompris.py OUT_DIR [--deb gcompris-qt-data_3.1-2_all.deb]

Why: the 77 photos in ../shared/data/photos are few for a network that must paint any photo. The great_wave model
scored 1.50x Gatys@100 on four of its training photos but 1.86x on the held-out ones (docs/quality.md, "More
photos"), so what it lacks is variety. gcompris-qt-data holds about 120 real photographs (49 monuments, 33 animal
portraits, 25 world and farm animals, 9 musicians and instruments, 6 underwater scenes) next to drawings; only the
activities whose pictures are photographs are taken (`ACTIVITIES`, chosen by looking at every picture).

The game keeps its pictures in Qt resource files (.rcc), stored uncompressed because JPEG and WebP do not shrink;
each is found by its file signature and decoded with Pillow. Saved as JPEG, longest side at most 1024 px, with
SOURCES.tsv (the package and its licence file: the pictures are Wikimedia Commons photographs under CC-BY-SA and
public-domain terms, listed one by one in the package's debian/copyright). Without --deb, `apt-get download` fetches
the package (Debian bookworm: 44 MB).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError

PACKAGE = "gcompris-qt-data"
ACTIVITIES = ("explore_monuments", "erase", "explore_world_animals", "explore_farm_animals",
              "explore_world_music", "clickgame")  # photographs; the others are drawings, paintings or planets
SIGNATURES = (b"\xff\xd8\xff", b"RIFF")  # JPEG, WebP (a RIFF container; non-images fail to decode and are skipped)
MIN_SIDE, MAX_SIDE = 300, 1024  # smaller ones are icons and thumbnails


def decoded(data: bytes) -> Image.Image | None:
    """The picture that data starts with, or None where a signature was only a coincidence inside other data."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def pictures(blob: bytes):
    """Every decodable JPEG or WebP picture in a resource file, in file order."""
    for signature in SIGNATURES:
        start = blob.find(signature)
        while start >= 0:
            picture = decoded(blob[start:])
            if picture is not None:
                yield picture
            start = blob.find(signature, start + len(signature))


def extract(rcc_dir: Path, out: Path, source: str) -> int:
    """The photographs of ACTIVITIES' resource files in rcc_dir, saved into out with SOURCES.tsv; their count."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for activity in ACTIVITIES:
        blob = (rcc_dir / f"{activity}.rcc").read_bytes()
        kept = [im for im in pictures(blob) if min(im.size) >= MIN_SIDE]
        for i, im in enumerate(kept):
            im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            name = f"gcompris__{activity}_{i:02d}.jpg"
            im.save(out / name, quality=92)
            rows.append(f"{name}\t{im.size[0]}x{im.size[1]}\tdeb {source} ({activity}.rcc)\t"
                        "per /usr/share/doc/gcompris-qt-data/copyright (CC-BY-SA / public domain, Wikimedia Commons)")
        print(f"{activity}: {len(kept)} photos", file=sys.stderr)
    (out / "SOURCES.tsv").write_text("file\tsize\tsource package\tlicense\n" + "\n".join(rows) + "\n")
    return len(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder for the photos and SOURCES.tsv (created)")
    ap.add_argument("--deb", type=Path, help="the package file (default: apt-get download it)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        deb = args.deb
        if deb is None:
            subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, check=True)
            deb = next(Path(tmp).glob(f"{PACKAGE}_*.deb"))
        root = Path(tmp) / "x"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        count = extract(root / "usr/share/gcompris-qt/rcc", args.out, deb.name)
    print(f"wrote {count} photos to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
