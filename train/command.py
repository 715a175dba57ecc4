"""Train a style transformation network on a folder of photos.

    brushwork train --style starry.jpg --data photos/ --out runs/
    brushwork train -c run.yaml --steps 2000            # YAML supplies defaults, flags win
    brushwork train --style starry.jpg --data photos/ --resume never --name starry_v2
    torchrun --nproc-per-node 2 -m brushwork train --style starry.jpg --data photos/

Writes OUT/NAME/ (NAME defaults to the style file's stem): config.yaml, TensorBoard events, samples/*.png,
checkpoints/ and, at the end, model.pt for `brushwork export`. Running the same command again resumes.
"""

from __future__ import annotations

import argparse
import signal
from dataclasses import fields

from .config import TrainConfig, field_defaults, flag, load_yaml, make_config

_TYPES = {"int": int, "int | None": int, "float": float, "float | None": float, "str": str, "str | None": str}
_GROUPS = {"data": "data", "model": "model and losses", "optimization": "optimization", "speed": "speed",
           "logging": "logging, checkpoints and resume"}


def add_arguments(parser: argparse.ArgumentParser, *, skip: frozenset[str] = frozenset(),
                  defaults: dict | None = None) -> None:
    """One flag per TrainConfig field (except `skip`); flags not given stay unset, so a YAML file can supply them.
    `defaults` are the defaults shown in the help where another verb changes them (brushwork distill)."""
    parser.add_argument("-c", "--config", metavar="YAML", help="read options from a YAML file (flags win)")
    groups = {key: parser.add_argument_group(title) for key, title in _GROUPS.items()}
    defaults = {**field_defaults(), **(defaults or {})}
    for f in fields(TrainConfig):
        if f.name in skip:
            continue
        default = defaults[f.name]
        help_text = f.metadata["help"] + ("" if default is None else f" (default: {_show(default)})")
        kwargs: dict = {"default": argparse.SUPPRESS, "help": help_text.replace("%", "%%")}
        if f.type == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif f.type == "list[str]":
            kwargs.update(nargs="+", metavar="LAYER")
        else:
            kwargs.update(type=_TYPES[f.type], metavar=f.name.upper())
        groups[f.metadata["group"]].add_argument(flag(f.name), dest=f.name, **kwargs)


def _show(value) -> str:
    return " ".join(value) if isinstance(value, list) else str(value)


def config_from_args(args: argparse.Namespace, defaults: dict | None = None) -> TrainConfig:
    """Dataclass defaults < `defaults` (another verb's) < the YAML file < explicit flags."""
    from_flags = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    from_yaml = load_yaml(args.config) if getattr(args, "config", None) else {}
    return make_config({**(defaults or {}), **from_yaml}, from_flags)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    from .loop import fit  # torch is imported only now: `brushwork train --help` stays instant

    result = fit(cfg)
    if not result.interrupted:
        return 0
    return 128 + (result.signal or signal.SIGINT)  # the shell's convention: 130 after Ctrl-C, 143 after SIGTERM
