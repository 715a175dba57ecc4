"""The one `brushwork` command. Each verb lives in its own module, whose heavy imports wait until that verb runs.

    brushwork train --style starry.jpg --data photos/ --out runs/
    brushwork export runs/starry -o starry.onnx
    brushwork stylize holiday.mp4 -o holiday_starry.mp4 --model starry.onnx
    brushwork gatys --content photo.jpg --style starry.jpg -o out.png
    brushwork bench train | brushwork bench MODEL.onnx
    brushwork serve --models my_models/

A verb module defines `add_arguments(parser)` (argparse only: no heavy imports at module level, so `--help`
is instant and `stylize` never loads torch; most verbs take their flags from a config dataclass, config.py) and
`run(args) -> int`. `bench` is dispatched here (class Bench), so
that infer/ never names train/.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import BrushworkError, __version__

# `bench` target -> benchmark module, a verb module like the others (add_arguments, run); torch is imported only by
# the training one. Any other target is an exported model.
BENCHMARKS = {"train": "brushwork.train.bench_command"}
MODEL_BENCHMARK = "brushwork.infer.bench_command"


class Bench:
    """Benchmarks. Speed goals live here, never in unit tests.

    brushwork bench train [--batch-size 4 ...]        training images/s (torch; see `bench train --help`)
    brushwork bench MODEL.onnx [--size 1920x1080 ...] inference fps and per-stage video times (no torch)
    """

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("target", help="'train', or an exported .onnx model")
        parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark (see TARGET --help)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        module = importlib.import_module(BENCHMARKS.get(args.target, MODEL_BENCHMARK))
        parser = argparse.ArgumentParser(prog=f"brushwork bench {args.target}", description=module.__doc__,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(parser)
        rest = parser.parse_args(args.rest)
        rest.target = args.target
        return module.run(rest)


# verb -> (module name, or a class with the same two functions; one-line help). A plain dict: the order here is the
# order in `brushwork --help`.
VERBS: dict[str, tuple[str | type, str]] = {
    "train": ("brushwork.train.command", "train a style transformation network on a folder of photos"),
    "distill": ("brushwork.train.distill_command", "distill a style into a small student, real time on a CPU"),
    "export": ("brushwork.models.export_command", "export a trained model to a deployable ONNX file"),
    "stylize": ("brushwork.infer.stylize.command",
                "stylize an image, a folder of images or a video with an ONNX model"),
    "info": ("brushwork.infer.info_command", "print the metadata of an exported ONNX model"),
    "styles": ("brushwork.infer.styles_command", "list the styles that ship with brushwork"),
    "demo": ("brushwork.infer.demo_command", "every shipped style on a sample photo and clip: no files needed"),
    "gatys": ("brushwork.train.gatys.command", "the Gatys et al. optimizer: stylize one image by optimizing pixels"),
    "evaluate": ("brushwork.train.evaluate.command", "compare a trained model's losses and looks against Gatys"),
    "evaluate-video": ("brushwork.train.evaluate.video_command", "measure temporal consistency (warping error)"),
    "bench": (Bench, "benchmarks: `bench train` or `bench MODEL.onnx`"),
    "serve": ("brushwork.infer.serve.command", "a web page and an HTTP API for stylizing pictures and videos"),
    "export-web": ("brushwork.infer.export_web_command", "a static site: a style live on the webcam, in the browser"),
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="brushwork", description="Fast neural style transfer.")
    parser.add_argument("--version", action="version", version=f"brushwork {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    modules = {}
    for verb, (module_name, help_text) in VERBS.items():
        # a missing module fails here, loudly: never a missing verb
        module = importlib.import_module(module_name) if isinstance(module_name, str) else module_name
        p = sub.add_parser(verb, help=help_text, description=(module.__doc__ or help_text).strip(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        modules[verb] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except BrushworkError as e:  # a flag's own parser (config.py `parse`) found the value wrong: one line, as below
        verb = next((a for a in argv if a in modules), "")
        print(f"brushwork {verb}: error: {e}", file=sys.stderr)
        return 2
    if args.verb is None:
        parser.print_help()
        return 2
    try:
        return int(modules[args.verb].run(args) or 0)
    except BrushworkError as e:
        print(f"brushwork {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"brushwork {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
