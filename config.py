"""One config mechanism for every verb: a dataclass per job is its settings, and its fields are the verb's flags.

    @dataclass
    class GatysConfig:
        size: int = option(512, "longest side of the result in pixels", group="images")
        output: str = option("out.png", "the stylized image", short="-o", required=True)

    add_arguments(parser, GatysConfig)      # --size SIZE ... (default: 512), -o/--output, in their groups
    cfg = from_args(GatysConfig, args)      # dataclass defaults < -c YAML (where a verb has it) < flags given
    command_line(cfg, "gatys")              # the command that reproduces cfg

Adding an option to a verb is adding one field. The type of a flag comes from the field's annotation: `bool` is
--x/--no-x (`switch=True`: a plain --x), int, float, str and Path, `list[X]` takes one or more values, and `X | None`
marks an option without a default. Field metadata, all optional but `help`: `group` (the help section), `short`
("-o"), `positional`, `required`, `choices`, `metavar`, `exclusive` (fields with the same name exclude each other),
`parse` (a str -> value function, e.g. for "0.7,0.3"; argparse turns its ArgumentTypeError into a usage error),
`show` (value -> how it is typed, for the help and command_line), `flag` (another flag name), `nargs` and `action`
(argparse's, when the type's own are not wanted), `cli=False` for a field that has no flag.

Flags that are not given stay unset (argparse.SUPPRESS), so a YAML file can supply them and the dataclass
defaults apply last: the field default is the one truth, shown in --help. Validation is the dataclass's
`__post_init__`, whose messages name the flag (`flag("image_size")` is "--image-size"). Unknown YAML keys get a
difflib "did you mean". This module imports nothing heavy: `brushwork --help` builds every verb's flags without
torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import re
import shlex
import types
import typing
from pathlib import Path

from . import BrushworkError

ARGPARSE_KEYS = ("action", "nargs", "metavar", "choices", "required")  # metadata passed to argparse as they are
SIZE_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
              "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}


def option(default=dataclasses.MISSING, help: str = "", *, factory=None, **cli):
    """A config field with its help text and flag settings (see the module docstring for the keys of `cli`)."""
    metadata = {"help": help, **cli}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def flag(name: str) -> str:
    """The CLI flag of a config field: image_size -> --image-size."""
    return "--" + name.replace("_", "-")


def cli_fields(cls) -> list[dataclasses.Field]:
    """The fields of `cls` that are flags or positional arguments."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def field_defaults(cls) -> dict:
    """{field name: default value} for every field of `cls` that has a default."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
        elif f.default is not dataclasses.MISSING:
            out[f.name] = f.default
    return out


def int_list(text: str) -> list[int]:
    """'1,2,4' -> [1, 2, 4], for a `parse` option (argparse turns the ValueError into a usage error)."""
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected whole numbers separated by commas, e.g. 1,2,4") from None


def parse_size(text: str, name: str = "size") -> int:
    """'2GB', '512MB', '1.5G', '800M', '1000000' -> bytes (binary units: 1 GB = 2**30 bytes); `name` (the flag)
    goes into the error."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).upper() if match else None
    if not match or unit not in SIZE_UNITS:
        raise BrushworkError(f"{name} {text}: expected a size like 2GB, 512MB or 1.5G")
    return int(float(match.group(1)) * SIZE_UNITS[unit])


def show_size(n: int) -> str:
    """Bytes as typed on the command line: 209715200 -> '200MB'."""
    for unit in ("TB", "GB", "MB", "KB"):
        if n and n % SIZE_UNITS[unit] == 0:
            return f"{n // SIZE_UNITS[unit]}{unit}"
    return str(n)


def byte_size(name: str):
    """A `parse` function for an option in bytes. A bad value is a BrushworkError, which argparse lets through, so
    the command says it in its usual one line ("--max-upload lots: expected a size like ...")."""
    return lambda text: parse_size(text, name)


# ---- the flags --------------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser, cls, *, skip: frozenset[str] = frozenset(),
                  defaults: dict | None = None, config_file: bool = False) -> None:
    """One argument per field of `cls` (except `skip`), in argument groups by the fields' `group`.

    `defaults` replace the dataclass defaults in the help, where a verb runs with its own (brushwork distill);
    `config_file` adds -c/--config YAML.
    """
    if config_file:
        parser.add_argument("-c", "--config", metavar="YAML", help="read options from a YAML file (flags win)")
    hints = typing.get_type_hints(cls)
    defaults = {**field_defaults(cls), **(defaults or {})}
    groups: dict[str | None, object] = {None: parser}
    exclusive: dict[str, object] = {}
    for f in cli_fields(cls):
        if f.name in skip:
            continue
        group = f.metadata.get("group")
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
        target = groups[group]
        if "exclusive" in f.metadata:
            key = f.metadata["exclusive"]
            if key not in exclusive:
                exclusive[key] = target.add_mutually_exclusive_group()
            target = exclusive[key]
        names, kwargs = _argument(f, hints[f.name], defaults.get(f.name))
        target.add_argument(*names, **kwargs)


def _argument(f: dataclasses.Field, hint, default) -> tuple[list[str], dict]:
    """The names and argparse keywords of one field."""
    # a switch is off unless given, a required flag always given: no default to speak of
    shown = None if f.metadata.get("switch") or f.metadata.get("required") else default
    kwargs = {"help": _help(f, shown).replace("%", "%%"), **_type_keywords(f, hint)}
    kwargs.update({k: f.metadata[k] for k in ARGPARSE_KEYS if k in f.metadata})
    if f.metadata.get("positional"):
        return [f.name], kwargs
    names = [f.metadata.get("flag", flag(f.name))]
    if "short" in f.metadata:
        names.insert(0, f.metadata["short"])
    return names, {**kwargs, "dest": f.name, "default": argparse.SUPPRESS}


def _type_keywords(f: dataclasses.Field, hint) -> dict:
    """type/action/nargs from the annotation (or the field's `parse` function)."""
    base = _without_none(hint)
    if "parse" in f.metadata:
        return {"type": f.metadata["parse"]}
    if base is bool:
        return {"action": "store_true" if f.metadata.get("switch") else argparse.BooleanOptionalAction}
    if typing.get_origin(base) in (list, tuple):
        return {"nargs": "+", "type": typing.get_args(base)[0]}
    return {"type": base}


def _without_none(hint):
    """`X | None` -> X."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        (base,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return base
    return hint


def _help(f: dataclasses.Field, default) -> str:
    """The help text with the default appended, unless the text says it or there is none to say."""
    text = f.metadata["help"]
    if default in (None, dataclasses.MISSING) or default == [] or "(default" in text:
        return text
    return f"{text} (default: {_show(f, default)})"


def _show(f: dataclasses.Field, value) -> str:
    """A value as it is typed on the command line: 'relu1_1 relu2_1' for nargs, '50,100' for a parsed list, the
    field's own `show` (e.g. show_size) where it has one."""
    if "show" in f.metadata:
        return f.metadata["show"](value)
    if isinstance(value, (list, tuple)):
        return (",".join if "parse" in f.metadata else " ".join)(map(str, value))
    return str(value)


# ---- from flags and YAML to a config ----------------------------------------------------------------------------

def from_args(cls, args: argparse.Namespace, defaults: dict | None = None):
    """The config for parsed arguments: dataclass defaults < `defaults` (a verb's own) < -c YAML < flags given."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    from_yaml = load_yaml(cls, args.config) if getattr(args, "config", None) else {}
    return make_config(cls, {**(defaults or {}), **from_yaml}, given)


def make_config(cls, from_yaml: dict, from_flags: dict):
    """Defaults < YAML file < explicit command-line flags; unknown keys are an error."""
    merged = {**from_yaml, **from_flags}
    check_keys(cls, merged, "config")
    return cls(**merged)


def check_keys(cls, keys, source: str) -> None:
    """Reject keys that are not fields of `cls`, with a difflib 'did you mean' suggestion."""
    known = [f.name for f in dataclasses.fields(cls)]
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            raise BrushworkError(f"{source}: unknown config key {key!r}{hint}")


def load_yaml(cls, path: str | Path) -> dict:
    """Read a YAML mapping of `cls` fields (dashes or underscores); unknown keys are an error."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise BrushworkError(f"-c/--config {path}: no such file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise BrushworkError(f"-c/--config {path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise BrushworkError(f"-c/--config {path}: expected a mapping of option: value")
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    check_keys(cls, data, str(path))
    return data


# ---- and back: the command that reproduces a config -------------------------------------------------------------

def command_line(cfg, verb: str) -> str:
    """`brushwork VERB ...` with the positional arguments, the required flags and every flag not at its default."""
    parts, defaults = ["brushwork", verb], field_defaults(type(cfg))
    for f in cli_fields(type(cfg)):
        value = getattr(cfg, f.name)
        if f.metadata.get("positional"):
            parts.append(str(value))
        elif f.metadata.get("required") or f.name not in defaults or value != defaults[f.name]:
            parts += _as_flags(f, value)
    return shlex.join(parts)


def _as_flags(f: dataclasses.Field, value) -> list[str]:
    name = f.metadata.get("flag", flag(f.name))
    if value is None:
        return []
    if isinstance(value, bool):
        if f.metadata.get("switch"):
            return [name] if value else []
        return [name if value else "--no-" + name.removeprefix("--")]
    if isinstance(value, (list, tuple)) and "parse" not in f.metadata:
        return [name, *map(str, value)]
    return [name, _show(f, value)]
