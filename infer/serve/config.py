"""The settings of `brushwork serve`: what its flags set.

    config = ServeConfig(models=Path("my_models"), max_upload_bytes=50 * 2**20, max_pixels=4096 * 4096)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ... import BrushworkError
from ...config import byte_size, option, show_size

NETWORK, MODELS, LIMITS = "network", "models", "limits"


@dataclass
class ServeConfig:
    """What `brushwork serve` flags set; each limit protects the machine from one kind of upload."""

    host: str = option("127.0.0.1", "address to listen on; 0.0.0.0 opens it to everyone on the network, who can then "
                       "use this machine's CPU: set --token, or put it behind a reverse proxy", group=NETWORK)
    port: int = option(8000, "port", group=NETWORK)
    token: str | None = option(None, "a secret every request must carry (Authorization: Bearer TOKEN; the page: open "
                               "/?token=TOKEN once)", group=NETWORK)
    allowed_host: list[str] | None = option(None, "Host names the server answers (default: localhost names when bound "
                                            "to loopback, any otherwise)", group=NETWORK, metavar="NAME")
    models: Path | None = option(None, "a folder of exported .onnx files to offer beside the shipped styles",
                                 group=MODELS, metavar="DIR")
    device: str = option("auto", "auto, cpu, cuda or cuda:N", group=MODELS)
    threads: int | None = option(None, "CPU threads for the model (default: one per core)", group=MODELS)
    stroke: str = option("1", "stroke size unless a request says (form field stroke): 1 = the same against the "
                         "picture at any size (as `stylize`), 2 = twice as large, native = the network at full "
                         "resolution", group=MODELS, metavar="S")
    web_runtime: Path | None = option(None, "serve onnxruntime-web for the page's Live from this folder (e.g. "
                                      "web/node_modules/onnxruntime-web/dist after `npm ci --prefix web`), for "
                                      "visitors without internet; default: its pinned public URL", group=MODELS,
                                      metavar="DIR")
    max_upload_bytes: int = option(200 * 2**20, "largest upload, e.g. 50MB; larger ones get 413", group=LIMITS,
                                   flag="--max-upload", metavar="SIZE", parse=byte_size("--max-upload"), show=show_size)
    max_pixels: int = option(4096 * 4096, "largest picture or video frame in pixels; larger ones get 422",
                             group=LIMITS)
    max_memory_bytes: int = option(2 * 2**30, "memory one model run may take: larger pictures run tiled in it "
                                   "(exactly, layer by layer; the model needs its .tiled.onnx), video batches shrink",
                                   group=LIMITS, flag="--max-memory", metavar="SIZE", parse=byte_size("--max-memory"),
                                   show=show_size)
    queue_size: int = option(8, "model runs running or waiting at once; more get 429", group=LIMITS, flag="--queue")
    max_uploads: int = option(16, "uploads being received at once; more get 429 (each must also keep a pace: "
                              "16 KB/s on average, no 10 s gap)", group=LIMITS)
    work_dir: Path | None = option(None, "where the work folder for uploads and results is made, removed at stop "
                                   "(default: the system temp folder)", group=LIMITS, metavar="DIR")
    max_frames: int = option(18000, "frames one video job may have (10 minutes at 30 fps); longer ones get 422",
                             group=LIMITS)
    max_results_bytes: int = option(4 * 2**30, "finished videos kept at once; past it the oldest are deleted",
                                    group=LIMITS, flag="--max-results", metavar="SIZE",
                                    parse=byte_size("--max-results"), show=show_size)
    keep_results_s: float = option(3600.0, "a finished job's video is deleted after this (or by DELETE /jobs/{id})",
                                   cli=False)

    def __post_init__(self):
        if not 0 < self.port < 65536:
            raise BrushworkError(f"--port {self.port}: give a port number between 1 and 65535")
        self.models = None if self.models is None else Path(self.models)
        self.work_dir = None if self.work_dir is None else Path(self.work_dir)
        if self.web_runtime is not None:
            from ..web.runtime import check_runtime_dir

            self.web_runtime = check_runtime_dir(Path(self.web_runtime), "--web-runtime")
        if self.models is not None and not Path(self.models).is_dir():
            raise BrushworkError(f"--models {self.models}: no such folder; give a folder of .onnx files")
        if self.work_dir is not None and not Path(self.work_dir).is_dir():
            raise BrushworkError(f"--work-dir {self.work_dir}: no such folder; give an existing, writable one")
        from ..engine.stroke import parse_stroke

        parse_stroke(self.stroke)
        if self.max_upload_bytes < 1024:
            raise BrushworkError(f"--max-upload {self.max_upload_bytes}: give at least 1KB, e.g. 200MB")
        if self.max_pixels < 64:
            raise BrushworkError(f"--max-pixels {self.max_pixels}: give at least 64, e.g. 16000000")
        if self.queue_size < 1:
            raise BrushworkError(f"--queue {self.queue_size}: give at least 1")
        if self.max_uploads < 1:
            raise BrushworkError(f"--max-uploads {self.max_uploads}: give at least 1")
