"""config.py, the one mechanism behind every verb's flags: a dataclass in, argparse flags, YAML and a command out."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from brushwork import BrushworkError
from brushwork.config import add_arguments, command_line, from_args, option


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers such as 0.7,0.3, got {text!r}") from None


@dataclass
class Toy:
    """Every kind of field a verb uses."""

    source: Path = option(help="the input", positional=True)
    output: Path = option(help="the output", short="-o", required=True)
    size: int = option(512, "longest side", group="look")
    scale: float | None = option(None, "relative size (default: from --size)", group="look")
    layers: list[str] = option(help="layer names", factory=lambda: ["relu2_2"], group="look", metavar="LAYER")
    blend: list[float] | None = option(None, "one weight per style", parse=_floats, metavar="W1,W2")
    mode: str = option("fast", "how", choices=("fast", "full"))
    fp16: bool = option(False, "half precision", switch=True, group="precision", exclusive="precision")
    int8: bool = option(False, "int8", switch=True, group="precision", exclusive="precision")
    channels_last: bool = option(True, "memory layout")
    hidden: int = option(3, "no flag", cli=False)

    def __post_init__(self) -> None:
        if self.size < 16:
            raise BrushworkError(f"--size must be at least 16, got {self.size}")


def _parse(argv: list[str], *, config_file: bool = False) -> Toy:
    parser = argparse.ArgumentParser(prog="toy")
    add_arguments(parser, Toy, config_file=config_file)
    return from_args(Toy, parser.parse_args(argv))


def test_defaults_come_from_the_dataclass():
    cfg = _parse(["in.png", "-o", "out.png"])
    assert cfg == Toy(source=Path("in.png"), output=Path("out.png"))
    assert (cfg.size, cfg.scale, cfg.layers, cfg.blend, cfg.mode, cfg.fp16, cfg.channels_last, cfg.hidden) == (
        512, None, ["relu2_2"], None, "fast", False, True, 3)


def test_every_kind_of_flag_parses_to_its_type():
    cfg = _parse(["in.png", "--output", "o.png", "--size", "64", "--scale", "0.5", "--layers", "relu1_1", "relu2_1",
                  "--blend", "0.7,0.3", "--mode", "full", "--int8", "--no-channels-last"])
    assert cfg.output == Path("o.png") and cfg.size == 64 and cfg.scale == 0.5
    assert cfg.layers == ["relu1_1", "relu2_1"] and cfg.blend == [0.7, 0.3] and cfg.mode == "full"
    assert cfg.int8 and not cfg.fp16 and cfg.channels_last is False


@pytest.mark.parametrize("argv", [["in.png"], ["in.png", "-o", "o.png", "--mode", "slow"],
                                  ["in.png", "-o", "o.png", "--fp16", "--int8"],
                                  ["in.png", "-o", "o.png", "--blend", "a,b"],
                                  ["in.png", "-o", "o.png", "--hidden", "4"]])
def test_argparse_refuses_what_the_fields_do_not_allow(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        _parse(argv)
    assert exit_.value.code == 2 and "toy: error:" in capsys.readouterr().err


def test_help_shows_groups_and_defaults(capsys):
    parser = argparse.ArgumentParser(prog="toy")
    add_arguments(parser, Toy)
    text = parser.format_help()
    assert "look:" in text and "precision:" in text and "-o OUTPUT, --output OUTPUT" in text
    assert "longest side (default: 512)" in text and "(default: from --size)" in text
    assert "--layers LAYER [LAYER ...]" in text and "(default: relu2_2)" in text
    assert "--channels-last, --no-channels-last" in text and "--hidden" not in text


def test_validation_is_the_dataclass_own(tmp_path):
    with pytest.raises(BrushworkError, match="--size must be at least 16"):
        _parse(["in.png", "-o", "o.png", "--size", "8"])


def test_yaml_supplies_defaults_flags_win_and_typos_get_a_suggestion(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("size: 128\nmode: full\n")
    cfg = _parse(["in.png", "-o", "o.png", "-c", str(path), "--size", "64"], config_file=True)
    assert (cfg.size, cfg.mode) == (64, "full")
    path.write_text("sise: 128\n")
    with pytest.raises(BrushworkError, match="unknown config key 'sise'; did you mean 'size'"):
        _parse(["in.png", "-o", "o.png", "-c", str(path)], config_file=True)


def test_command_line_reproduces_the_config():
    argv = ["in.png", "-o", "o.png", "--size", "64", "--layers", "relu1_1", "relu2_1", "--blend", "0.7,0.3",
            "--int8", "--no-channels-last"]
    cfg = _parse(argv)
    command = command_line(cfg, "toy")
    assert command == ("brushwork toy in.png --output o.png --size 64 --layers relu1_1 relu2_1 --blend 0.7,0.3 "
                       "--int8 --no-channels-last")
    assert _parse(shlex.split(command)[2:]) == cfg


def test_flow_preset_choices_are_the_flows_presets():
    """The flags list the presets by name without loading OpenCV; infer/look/flow.py maps them to DIS's."""
    from brushwork.infer.look.flow import PRESETS
    from brushwork.infer.stylize.config import FLOW_PRESETS

    assert set(FLOW_PRESETS) == set(PRESETS)
