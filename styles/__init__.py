"""The registry of styles that ship with brushwork: brushwork/styles/index.json next to the .onnx files.

    {"styles": [{"name": "starry_night", "file": "starry_night.onnx", "title": "The Starry Night",
                 "artist": "Vincent van Gogh", "sha256": "...", "student": "starry_night.fast.onnx"}]}

`brushwork styles` lists them; `brushwork stylize ... --style starry_night` uses one. A style may ship a student
(`brushwork distill`): a small network that reproduces the full one and runs in real time on a CPU. --quality
picks: fast (the student), full, or auto (default): the student when the model will run on the CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import BrushworkError
from ..choices import QUALITIES


def styles_folder() -> Path:
    """Where the shipped styles live (the brushwork.styles package folder)."""
    return Path(__file__).resolve().parent


def list_styles(folder: Path | None = None) -> list[dict]:
    """The shipped styles (empty when none ship), each a dict with at least name and file."""
    index = (folder or styles_folder()) / "index.json"
    if not index.is_file():
        return []
    try:
        entries = json.loads(index.read_text())["styles"]
    except (ValueError, KeyError, TypeError) as e:
        raise BrushworkError(f"{index}: broken style index ({e}); reinstall brushwork") from None
    return [e for e in entries if isinstance(e, dict) and "name" in e and "file" in e]


def default_style(folder: Path | None = None) -> str:
    """The style `brushwork stylize` uses without --model or --style: the first in the index."""
    styles = list_styles(folder)
    if not styles:
        raise BrushworkError("give --model FILE.onnx: no styles ship with this brushwork yet, so there is no "
                             "default style (train one with `brushwork train`, then `brushwork export`)")
    return styles[0]["name"]




def quality_line(entry: dict) -> str:
    """A shipped style's measured quality, a few lines (scripts/ship_style.py records it from `brushwork evaluate`):
    its loss on held-out photos against the Gatys optimizer's and its edges, Johnson et al.'s figure, its training,
    and what looking at it next to Gatys found wrong, where something was."""
    q = entry.get("quality")
    if not q:
        return "quality not measured"
    ratio = next((f"{q[k]:.2f}x Gatys@{k.removeprefix('ratio_gatys')}" for k in ("ratio_gatys100", "ratio_gatys50")
                  if q.get(k)), "no Gatys ratio")
    lines = [(f"loss {ratio} on {q['photos']} held-out photos at {q['size']} px; edge roughness "
              f"{q['edge_roughness']:.2f} (photos ~0.85)")]
    if q.get("johnson_iterations") is not None:
        lines.append(f"as good as neural-style's L-BFGS from noise after {q['johnson_iterations']:g} iterations "
                     "(Johnson et al.'s nets: 50-100)")
    lines.append(f"trained on {q['images']:,} images in {q['hours']:g} h, {q['hardware']}")
    if q.get("limitations"):
        lines.append(f"known limitation: {q['limitations']}")
    return "\n".join(lines)


CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


def model_files(source: str, flag: str, *, checkpoints: bool = False) -> list[Path]:
    """What a model argument names, as files. An exported .onnx file; where `checkpoints` (the verbs that load
    torch: train --init, evaluate) also a training checkpoint or a run directory (models/run_layout.py
    resolve_checkpoint picks its checkpoint); or the name of a shipped style: its full model, then its student if it
    ships one. Anything else is a one-line error naming `flag`, which says what to give instead."""
    path = Path(source)
    kinds = "an .onnx model, a checkpoint (.pt) or run directory" if checkpoints else "an exported .onnx model"
    if path.exists():
        if path.is_dir() and checkpoints:
            return [path]
        suffix = path.suffix.lower()
        if suffix == ".onnx" or (checkpoints and suffix in CHECKPOINT_SUFFIXES):
            return [path]
        if suffix in CHECKPOINT_SUFFIXES or path.is_dir():
            raise BrushworkError(f"{flag} {source} is a training {'run' if path.is_dir() else 'checkpoint'}; export "
                                 f"it first (`brushwork export {source} -o model.onnx`) and pass the .onnx")
        raise BrushworkError(f"{flag} {source}: not {kinds}")
    if source in {s["name"] for s in list_styles()}:
        return style_files(source)
    raise BrushworkError(f"{flag} {source}: no such file and no shipped style of that name; give {kinds} or a "
                         "style that `brushwork styles` lists")


def style_files(name: str) -> list[Path]:
    """A shipped style's files: the full model, then its student if it ships one (info and bench show both)."""
    entry = next((s for s in list_styles() if s["name"] == name), None)
    student = [style_path(name, quality="fast")] if entry is not None and entry.get("student") else []
    return [style_path(name, quality="full"), *student]


def style_path(name: str, folder: Path | None = None, *, quality: str = "full", on_cpu: bool = True) -> Path:
    """The .onnx file of a shipped style: the full model, or its student for quality "fast" (and for "auto" when
    the model will run on the CPU, `on_cpu`); an unknown name lists the known ones."""
    folder = folder or styles_folder()
    styles = {s["name"]: s for s in list_styles(folder)}
    if not styles:
        raise BrushworkError(f"--style {name}: no styles ship with this brushwork yet; train one "
                             "(`brushwork train`), export it (`brushwork export RUN -o mine.onnx`) and pass --model")
    if name not in styles:
        raise BrushworkError(f"--style {name}: unknown style; known: {', '.join(sorted(styles))}")
    entry = styles[name]
    if quality not in QUALITIES:
        raise BrushworkError(f"--quality {quality}: expected one of {', '.join(QUALITIES)}")
    if quality == "fast" and not entry.get("student"):
        raise BrushworkError(f"--style {name} ships no fast student; use --quality full (or auto)")
    fast = quality == "fast" or (quality == "auto" and on_cpu and bool(entry.get("student")))
    path = folder / entry["student" if fast else "file"]
    if not path.is_file():
        raise BrushworkError(f"--style {name}: its model file {path} is missing; reinstall brushwork")
    return path
