"""Reading what brushwork works on: photos and paintings of every format (images.py), their metadata (metadata.py),
training crops (photos.py), and the sample photo and clip that ship in the package (samples/, SOURCES.md there).
Writing goes through files.py, so that no output is ever half written."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "samples"  # photo.jpg and clip.mp4: the demo's and the server's
