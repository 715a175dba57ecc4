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

from .. import config
from .config import TrainConfig


def add_arguments(parser: argparse.ArgumentParser, *, skip: frozenset[str] = frozenset(),
                  defaults: dict | None = None) -> None:
    """-c/--config and one flag per TrainConfig field (except `skip`). `defaults` are the defaults shown in the
    help where another verb changes them (brushwork distill)."""
    config.add_arguments(parser, TrainConfig, skip=skip, defaults=defaults, config_file=True)


def config_from_args(args: argparse.Namespace, defaults: dict | None = None) -> TrainConfig:
    """Dataclass defaults < `defaults` (another verb's) < the YAML file < explicit flags."""
    return config.from_args(TrainConfig, args, defaults)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    from .loop import fit  # torch is imported only now: `brushwork train --help` stays instant

    result = fit(cfg)
    if not result.interrupted:
        return 0
    return 128 + (result.signal or signal.SIGINT)  # the shell's convention: 130 after Ctrl-C, 143 after SIGTERM
