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

from ... import BrushworkError
from ...config import add_arguments as add_config_arguments
from ...config import from_args
from .config import ServeConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, ServeConfig)


def run(args: argparse.Namespace) -> int:
    missing = [m for m in ("starlette", "uvicorn", "python_multipart") if importlib.util.find_spec(m) is None]
    if missing:
        raise BrushworkError(f"serve needs {', '.join(missing)}: pip install \"brushwork[serve]\"")
    import uvicorn

    from .app import create_app

    config = from_args(ServeConfig, args)
    app = create_app(config)
    count = len(app.state.server.catalogue.entries)
    print(f"brushwork serve: {count} style{'' if count == 1 else 's'}; open http://{_url_host(config.host)}:"
          f"{config.port}/ (Ctrl-C stops)", file=sys.stderr)
    from .protocol import Protocol

    uvicorn.run(app, host=config.host, port=config.port, log_level="warning", http=Protocol)
    return 0


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"  # listening everywhere: this machine's own address works in a browser
    return f"[{host}]" if ":" in host else host
