"""The styles `brushwork serve` offers: the shipped ones (styles/__init__.py), then each .onnx in --models.

Models load on first use, on the model thread (infer/serve/runner.py), and stay loaded; a thumbnail is the style
applied to the packaged sample photo, made once.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ...data import SAMPLES
from .config import ServeConfig
from .errors import ServeError, echo

THUMBNAIL_SIDE = 192
# Peak memory of an untiled run (onnxruntime, johnson, CPU), measured outside the server: 170 MB at 320x240,
# 354 MB at 640x480, 1.34 GB for a batch of four 640x480 frames (~0.8 KB per frame pixel over the process's own);
# a 4000x3000 picture through the server 10.1 GiB; a 1080p frame without onnxruntime's arena 1.47 GiB (0.66 KB/px).
UNTILED_BYTES_PER_PIXEL = 800
PROCESS_BYTES = 150 * 2**20
# A video job's pipeline beside the model (PyAV decoder threads, frame queues, x264 encoder): +316 MiB at 1080p
# with a model that costs nothing, ~160 B per frame pixel.
VIDEO_BYTES_PER_PIXEL = 160
# Bringing a painting made at the working size back to full size (infer/engine/upsample.py): the upscaled painting
# (3 B), the small photo's upscaled brightness (4 B) and the output (3 B) per full-size pixel, strips besides.
UPSAMPLE_BYTES_PER_PIXEL = 12


def untiled_bytes(pixels: int) -> int:
    """What running the whole network on `pixels` frame pixels (all frames of a batch) takes, process included."""
    return PROCESS_BYTES + UNTILED_BYTES_PER_PIXEL * pixels
SAMPLE_PHOTO = SAMPLES / "photo.jpg"


class Catalogue:
    def __init__(self, config: ServeConfig):
        from ...styles import list_styles, styles_folder

        folder = styles_folder()
        self.entries: dict[str, dict] = {}
        for s in list_styles(folder):
            self._add(s["name"], folder / s["file"], "shipped", s.get("title"), s.get("artist"))
            if s.get("student"):  # what Live downloads: the small network, real time in a browser
                self.entries[s["name"]]["live"] = folder / s["student"]
        if config.models is not None:
            for path in sorted(Path(config.models).glob("*.onnx")):
                if not path.name.endswith(".tiled.onnx"):  # the tile graph beside an export, not a style
                    self._add(path.stem, path, "models", None, None)
        self.config = config
        self._stylizers: dict[str, object] = {}
        self._thumbnails: dict[str, bytes] = {}

    def _add(self, name: str, path: Path, source: str, title: str | None, artist: str | None) -> None:
        if name not in self.entries:  # a shipped style wins over a file of the same name
            self.entries[name] = {"name": name, "title": title or name, "artist": artist, "source": source,
                                  "path": path}

    def public(self) -> list[dict]:
        """What GET /styles shows: no file paths."""
        return [{k: v for k, v in e.items() if k not in ("path", "live")}
                | {"thumbnail": f"/styles/{e['name']}/thumbnail.jpg"} for e in self.entries.values()]

    def check(self, name: str | None) -> str:
        """The style to use: the one named, or the first; 422 for an unknown name, 503 when there are none."""
        if not self.entries:
            raise ServeError(503, "no styles: none ship with this brushwork; start the server with --models DIR "
                                  "holding exported .onnx files")
        if not name:
            return next(iter(self.entries))
        if name not in self.entries:
            raise ServeError(422, f"unknown style {echo(name)}; known: {', '.join(self.entries)}")
        return name

    def live_model(self, name: str) -> Path:
        """The .onnx file a browser runs for Live: the style's student where it ships one, else its model."""
        return self.entries[name].get("live") or self.entries[name]["path"]

    def stylizer(self, name: str):
        """The loaded model (call on the model thread only: models load there, one at a time)."""
        if name not in self._stylizers:
            from ..engine.session import Stylizer

            self._stylizers[name] = Stylizer(self.entries[name]["path"], device=self.config.device,
                                             threads=self.config.threads, arena=False)  # memory bounded: no arena
        return self._stylizers[name]

    def plan(self, name: str, height: int, width: int, batch: int = 4, video: bool = False,
             stroke: float | None = 1.0) -> tuple[object, int]:
        """The stylizer and batch size for frames of this size within --max-memory, at the `stroke` scale (None:
        native): the whole network on up to `batch` frames of the working size when that fits, else the tile
        graph one frame at a time under the budget (422 when the model has none). A `video` also pays for its
        pipeline (decoder, queues, encoder). Model thread only."""
        from ..engine.stroke import StrokeScale

        scaled = StrokeScale(self.stylizer(name), stroke)
        h, w = scaled.working_size(height, width)
        upsample = UPSAMPLE_BYTES_PER_PIXEL * height * width if (h, w) != (height, width) else 0
        pipeline = VIDEO_BYTES_PER_PIXEL * height * width if video else 0
        budget = self.config.max_memory_bytes - pipeline
        for size in range(batch, 0, -1):
            if untiled_bytes(h * w * size) + upsample * size <= budget:
                return scaled, size
        budget -= upsample
        return StrokeScale(self._tiled(name, budget, h, w), stroke), 1

    def _tiled(self, name: str, budget: int, height: int, width: int):
        """The style's tile graph run within `budget` bytes; 422 when the model has none."""
        key = f"{name} (tiled in {budget} bytes)"
        if key not in self._stylizers:
            from ..engine.contract import tiled_path
            from ..engine.tiling import TiledStylizer

            if not tiled_path(self.entries[name]["path"]).is_file():
                raise ServeError(422, f"a {width}x{height} picture needs more than this server's --max-memory with "
                                      f"style {name}, which has no tile graph to run in less; send a smaller one")
            self._stylizers[key] = TiledStylizer(self.entries[name]["path"], max_memory=budget,
                                                 device=self.config.device, threads=self.config.threads, arena=False)
        return self._stylizers[key]

    def cached_thumbnail(self, name: str) -> bytes | None:
        return self._thumbnails.get(name)

    def make_thumbnail(self, name: str) -> bytes:
        """The style on the sample photo, as JPEG bytes (model thread)."""
        if name not in self._thumbnails:
            photo = Image.open(SAMPLE_PHOTO).convert("RGB")
            photo.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            out = self.stylizer(name)(np.asarray(photo, dtype=np.uint8))
            buffer = io.BytesIO()
            Image.fromarray(out).save(buffer, "JPEG", quality=85)
            self._thumbnails[name] = buffer.getvalue()
        return self._thumbnails[name]
