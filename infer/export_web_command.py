"""`brushwork export-web`: a static site that paints the visitor's webcam in a style, client-side.

    brushwork export-web starry_night -o site/                    # a shipped style (its student: real time)
    brushwork export-web starry.onnx -o site/ --title "Starry"    # any exported model
    npm ci --prefix web && brushwork export-web starry_night -o site/ \\
        --runtime-dir web/node_modules/onnxruntime-web/dist       # offline / self-hosted: the runtime copied in

Serve the folder from any static host (`python -m http.server -d site` to try it on this machine) and open it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import BrushworkError
from ..choices import QUALITIES
from ..config import add_arguments as add_config_arguments
from ..config import from_args, option


@dataclass
class ExportWebConfig:
    """One `brushwork export-web` run."""

    model: str = option(help="a shipped style's name (`brushwork styles`) or an exported .onnx file",
                        positional=True)
    output: Path = option(help="the site's folder (made; must be empty unless --overwrite)", short="-o",
                          required=True)
    quality: str = option("auto", "with a style name: fast = its student (real time on most machines), full = the "
                          "full network; auto = the student where it ships one", choices=QUALITIES)
    runtime_dir: Path | None = option(None, "copy onnxruntime-web from this folder into the site (e.g. "
                                      "web/node_modules/onnxruntime-web/dist after `npm ci --prefix web`) instead of "
                                      "loading its pinned public URL", metavar="DIR")
    title: str | None = option(None, "the page's title (default: the style's title or the file's name)")
    overwrite: bool = option(False, "replace an existing, non-empty folder", switch=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, ExportWebConfig)


def run(args: argparse.Namespace) -> int:
    from .web.runtime import check_runtime_dir
    from .web.site import write_site

    cfg = from_args(ExportWebConfig, args)
    if cfg.runtime_dir is not None:
        check_runtime_dir(cfg.runtime_dir)
    model, title, about = choose_model(cfg)
    written = write_site(model, cfg.output, title=cfg.title or title, about=about, runtime_dir=cfg.runtime_dir,
                         overwrite=cfg.overwrite)
    where = "copied into the site" if cfg.runtime_dir else f"loaded from {written['runtime']}"
    print(f"wrote {cfg.output}/ ({len(written['files'])} files, {written['bytes'] / 2**20:.1f} MB; model {model.name}; "
          f"onnxruntime-web {where})", file=sys.stderr)
    print(f"try it: python -m http.server -d {cfg.output} 8080, then open http://localhost:8080 (one WASM thread: "
          "a host that sends the _headers file's COOP/COEP gets them all)", file=sys.stderr)
    return 0


def choose_model(cfg: ExportWebConfig) -> tuple[Path, str, str]:
    """(the .onnx file, a title, a line about it) for a style name or a file."""
    from ..styles import list_styles, style_path

    path = Path(cfg.model)
    if path.suffix.lower() == ".onnx":
        check_model(path)  # a missing file too: the runtime's own one-line error
        return path, path.stem, ""
    entry = next((s for s in list_styles() if s["name"] == cfg.model), None)
    if entry is None:
        raise BrushworkError(f"{cfg.model}: not an .onnx file and no shipped style of that name; give an exported "
                             "model or a style that `brushwork styles` lists")
    quality = cfg.quality if cfg.quality != "auto" else ("fast" if entry.get("student") else "full")
    title = entry.get("title") or cfg.model
    painter = ", ".join(str(entry[k]) for k in ("artist", "year") if entry.get(k))
    return style_path(cfg.model, quality=quality), title, f"{title} ({painter})." if painter else f"{title}."


def check_model(path: Path) -> None:
    """The file must be a brushwork export (one uint8 image in, uint8 out): the runtime's own checks, one line each."""
    from .engine.session import Stylizer

    Stylizer(path, device="cpu")
