"""A web page and an HTTP API for stylizing pictures and videos: for people who never open a terminal.

    brushwork serve                               # http://127.0.0.1:8000/ : the page; the API beside it
    brushwork serve --models my_models/ --port 8080
    brushwork serve --host 0.0.0.0 --max-upload 50MB --max-pixels 8000000   # on a network: set the limits

Needs the serve extra: pip install "brushwork[serve]" (Starlette, uvicorn, python-multipart). The API is in the
README ("Serve") and at /openapi.json. Uploads go to a fresh work folder that is removed when the server stops.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from .. import BrushworkError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    net = parser.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 opens it to the network "
                                                         "(default: %(default)s)")
    net.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    model = parser.add_argument_group("models")
    model.add_argument("--models", type=Path, metavar="DIR", help="a folder of exported .onnx files to offer beside "
                                                                  "the shipped styles")
    model.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    model.add_argument("--threads", type=int, help="CPU threads for the model (default: one per core)")
    limits = parser.add_argument_group("limits")
    limits.add_argument("--max-upload", default="200MB", metavar="SIZE",
                        help="largest upload, e.g. 50MB; larger ones get 413 (default: %(default)s)")
    limits.add_argument("--max-pixels", type=int, default=4096 * 4096,
                        help="largest picture or video frame in pixels; larger ones get 422 (default: %(default)s)")
    limits.add_argument("--queue", type=int, default=8, help="model runs running or waiting at once; more get 429 "
                                                             "(default: %(default)s)")
    limits.add_argument("--work-dir", type=Path, help="where the work folder for uploads and results is made "
                                                      "(default: the system temp folder)")


def run(args: argparse.Namespace) -> int:
    missing = [m for m in ("starlette", "uvicorn", "python_multipart") if importlib.util.find_spec(m) is None]
    if missing:
        raise BrushworkError(f"serve needs {', '.join(missing)}: pip install \"brushwork[serve]\"")
    import uvicorn

    from .serve import create_app
    from .serve_config import ServeConfig
    from .stylize_config import parse_size

    try:
        max_upload = parse_size(args.max_upload)
    except BrushworkError:
        raise BrushworkError(f"--max-upload {args.max_upload}: expected a size like 200MB or 1GB") from None
    config = ServeConfig(host=args.host, port=args.port, models=args.models, work_dir=args.work_dir,
                         max_upload_bytes=max_upload, max_pixels=args.max_pixels, queue_size=args.queue,
                         device=args.device, threads=args.threads)
    app = create_app(config)
    count = len(app.state.server.catalogue.entries)
    print(f"brushwork serve: {count} style{'' if count == 1 else 's'}; open http://{_url_host(args.host)}:{args.port}/ "
          "(Ctrl-C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"  # listening everywhere: this machine's own address works in a browser
    return f"[{host}]" if ":" in host else host
