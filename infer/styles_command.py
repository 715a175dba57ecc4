"""List the styles that ship with brushwork.

    brushwork styles
    brushwork stylize photo.jpg -o out.jpg --style NAME
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..config import add_arguments as add_config_arguments
from ..config import from_args, option
from ..styles import list_styles, quality_line, styles_folder


@dataclass
class StylesConfig:
    paths: bool = option(False, "also print each style's model file", switch=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, StylesConfig)


def run(args: argparse.Namespace) -> int:
    args = from_args(StylesConfig, args)
    styles = list_styles()
    if not styles:
        print("no styles ship with this brushwork yet; train one (`brushwork train`), export it "
              "(`brushwork export RUN -o mine.onnx`) and use `brushwork stylize ... --model mine.onnx`")
        return 0
    width = max(len(s["name"]) for s in styles)
    for i, s in enumerate(styles):
        title = ", ".join(str(s[k]) for k in ("title", "artist", "year") if s.get(k))
        default = "  (default)" if i == 0 else ""
        fast = "  [+ fast student for CPUs]" if s.get("student") else ""
        paths = [s["file"], *([s["student"]] if s.get("student") else [])]
        path = "  " + "  ".join(str(styles_folder() / p) for p in paths) if args.paths else ""
        print(f"{s['name']:<{width}}  {title}{default}{fast}{path}")
        for line in quality_line(s).splitlines():
            print(f"{'':<{width}}  {line}")
    return 0
