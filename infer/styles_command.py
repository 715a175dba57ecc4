"""List the styles that ship with brushwork.

    brushwork styles
    brushwork stylize photo.jpg -o out.jpg --style NAME
"""

from __future__ import annotations

import argparse

from .styles import list_styles, quality_line, styles_folder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--paths", action="store_true", help="also print each style's model file")


def run(args: argparse.Namespace) -> int:
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
