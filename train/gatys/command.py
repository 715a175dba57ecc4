"""Stylize one image with the Gatys et al. optimizer (slow; the quality reference for the fast models).

    brushwork gatys --content photo.jpg --style starry.jpg -o out.png
    brushwork gatys --content photo.jpg --style starry.jpg --size 256 --steps 300 --optimizer adam -o out.png
    brushwork gatys --content photo.jpg --style a.jpg --style b.jpg --style-blend 0.7,0.3 -o mashup.png
    brushwork gatys --content photo.jpg --style starry.jpg --preserve-color luminance --save-every 50 -o out.png
"""

from __future__ import annotations

import argparse

from ...config import add_arguments as add_config_arguments
from ...config import from_args
from .config import GatysConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, GatysConfig)


def run(args: argparse.Namespace) -> int:
    from .optimize import stylize

    cfg = from_args(GatysConfig, args)  # validated: a bad value raises BrushworkError naming its flag
    if not cfg.overwrite:
        _refuse_existing_outputs(cfg)
    result = stylize(cfg)
    final = result.history[-1] if result.history else {}
    losses = " | ".join(f"{k} {v:.4g}" for k, v in final.items())
    print(f"wrote {cfg.output} ({len(result.history)} iterations in {result.seconds:.1f} s; {losses})")
    return 0


def _refuse_existing_outputs(cfg: GatysConfig) -> None:
    """The result and every --save-every intermediate must be new files (before minutes of optimization)."""
    from ...data.images import refuse_existing
    from .optimize import _intermediate_path, check_paths

    check_paths(cfg)  # first: -o naming an input gets its own message, with or without --overwrite
    steps = range(cfg.save_every, cfg.steps, cfg.save_every) if cfg.save_every else ()
    refuse_existing([cfg.output, *(_intermediate_path(cfg.output, step) for step in steps)], "-o")
