"""The settings of `brushwork serve` and the one error type its HTTP layer turns into a response.

    config = ServeConfig(models=Path("my_models"), max_upload_bytes=50 * 2**20, max_pixels=4096 * 4096)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import BrushworkError


class ServeError(Exception):
    """An HTTP error with a one-line message for the client (never a stack trace)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class ServeConfig:
    """What `brushwork serve` flags set; each limit protects the machine from one kind of upload."""

    host: str = "127.0.0.1"
    port: int = 8000
    models: Path | None = None  # a folder of extra .onnx files, listed after the shipped styles
    work_dir: Path | None = None  # a fresh folder is made inside it (default: the system temp folder), removed at stop
    max_upload_bytes: int = 200 * 2**20  # 413 above this
    max_pixels: int = 4096 * 4096  # 422 above this, for images and for each video frame
    queue_size: int = 8  # model runs waiting or running at once; 429 when full
    keep_results_s: float = 3600.0  # a finished job's video is deleted after this (or by DELETE /jobs/{id})
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self):
        if not 0 < self.port < 65536:
            raise BrushworkError(f"--port {self.port}: give a port number between 1 and 65535")
        if self.models is not None and not Path(self.models).is_dir():
            raise BrushworkError(f"--models {self.models}: no such folder; give a folder of .onnx files")
        if self.work_dir is not None and not Path(self.work_dir).is_dir():
            raise BrushworkError(f"--work-dir {self.work_dir}: no such folder; give an existing, writable one")
        if self.max_upload_bytes < 1024:
            raise BrushworkError(f"--max-upload {self.max_upload_bytes}: give at least 1KB, e.g. 200MB")
        if self.max_pixels < 64:
            raise BrushworkError(f"--max-pixels {self.max_pixels}: give at least 64, e.g. 16000000")
        if self.queue_size < 1:
            raise BrushworkError(f"--queue {self.queue_size}: give at least 1")
