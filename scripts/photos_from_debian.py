"""More training photos, offline: the photographs that seven Debian packages keep as plain image files.

    python scripts/photos_from_debian.py OUT_DIR [--debs FOLDER]

Why: variety is what the trained networks lack (woman_with_hat scores 1.51x Gatys@100 on photos it trained on and
1.80x on new ones; docs/quality.md, "More photos"). After ../shared/data/photos (77) and scripts/photos_from_gcompris.py
(122), a survey of Debian bookworm's desktop, photo, education and documentation packages (2026-12-04) found 57 more
real photographs not already among them, each chosen by looking at it: people at a bar, a pool hall, a beach; night
and dusk scenes; a canyon, coasts, forests, waves, the moon, a pizza, machines. Three of kphotoalbum's demo photos are
stored sideways without an orientation tag and are left out (grand_canyon_1, new_wave_1, wayne).

Each package's photos are listed below with the terms its debian/copyright gives them (package-wide terms where the
photos have none of their own). Saved as JPEG, longest side at most 1024 px, with SOURCES.tsv. Without --debs, each
package is fetched with `apt-get download` (about 380 MB in all; tuxpaint-data and gimp-help-en are most of it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

MAX_SIDE = 1024
KPA, TUX = "usr/share/kphotoalbum/demo/", "usr/share/tuxpaint/templates/"
# package: (the photos' terms, paths inside the package)
PHOTOS = {
    "kphotoalbum": ("GPL-2+ (package-wide, debian/copyright)", [KPA + n + ".jpg" for n in (
        "anne_helene", "bar55", "bar55_2", "blackie", "cold_water", "donna", "donna_2", "grand_canyon_2",
        "grand_canyon_3", "jesper", "jesper_2", "new_wave_2", "pool", "pool_2", "qt-logo", "skagen", "skagen_2", "snow",
        "spiff", "spiff_2", "sunset")]),
    "tuxpaint-data": ("GPL-2+ (debian/copyright, Files: *; templates by Bill Kendrick per AUTHORS.txt)",
                      [TUX + n + ".jpg" for n in (
                          "burnt_bark", "cliff", "corn_maze", "jellyfish", "lighthouse", "mossy_bark", "mossy_log",
                          "mudstone", "ocean_splash", "ocean_waves", "redwoods_above", "rocks", "sheep", "spiders_web",
                          "sun_behind_clouds", "sun_behind_leaves", "trees_above", "trees_at_dusk",
                          "wool_mill_machine")]),
    "scribus-template": ("public domain (debian/copyright: the br2, cal2 and menu2 templates, Riku Leino)",
                         ["usr/share/scribus/templates/" + n + ".jpg" for n in (
                             "br2/brightness", "br2/halfmoon", "br2/moon", "br2/nature", "br2/sunset", "cal2/moon",
                             "menu2/pizza")]),
    "python-kivy-examples": ("Expat (package-wide); the demo pictures public domain per the demo's main.py", [
        "usr/share/kivy-examples/demo/pictures/images/Wall.jpg",
        "usr/share/kivy-examples/demo/pictures/images/faust_github.jpg",
        "usr/share/kivy-examples/widgets/cityCC0.png"]),
    "hugin-data": ("GPL-2+ (debian/copyright, Files: *)", ["usr/share/hugin/xrc/data/help_en_EN/" + n for n in (
        "CA_fringes00.jpg", "CA_tCA00.jpg", "Medinet_habu_horizontal_fisheye.jpg")]),
    "digikam-data": ("GPL-2+ (package-wide, debian/copyright)", ["usr/share/digikam/about/images/body-background.jpg"]),
    "gimp-help-en": ("GFDL-1.2+, no invariant sections (gimp-help-common's debian/copyright, Files: *)", [
        "usr/share/gimp/2.0/help/en/images/tutorials/tone-mapping/" + n + ".jpg" for n in (
            "apple-orchard-truck-from-camera", "power-lines", "without-bilateral-smoothing-of-mask")]),
}


def photo_name(package: str, path: str) -> str:
    """`scribus-template__br2_moon.jpg`: the folder too, as one package may hold two pictures of one name."""
    return f"{package}__{Path(path).parent.name}_{Path(path).stem}.jpg"


def extract(package: str, root: Path, out: Path, source: str) -> list[str]:
    """The package's photos from its unpacked tree at root, saved into out; their SOURCES.tsv rows."""
    terms, paths = PHOTOS[package]
    rows = []
    for path in paths:
        with Image.open(root / path) as im:
            photo = ImageOps.exif_transpose(im).convert("RGB")
        photo.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        name = photo_name(package, path)
        photo.save(out / name, quality=92)
        rows.append(f"{name}\t{photo.size[0]}x{photo.size[1]}\tdeb {source} (/{path})\t{terms}")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder for the photos and SOURCES.tsv (created)")
    ap.add_argument("--debs", type=Path, help="a folder holding the packages' .deb files (default: apt-get download)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for package in PHOTOS:
            debs = args.debs or Path(tmp)
            if args.debs is None:
                subprocess.run(["apt-get", "download", package], cwd=tmp, check=True)
            deb = next(debs.glob(f"{package}_*.deb"))
            root = Path(tmp) / package
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
            rows += extract(package, root, args.out, deb.name)
            print(f"{package}: {len(PHOTOS[package][1])} photos", file=sys.stderr)
    (args.out / "SOURCES.tsv").write_text("file\tsize\tsource package\tlicense\n" + "\n".join(rows) + "\n")
    print(f"wrote {len(rows)} photos to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
