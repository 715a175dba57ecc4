"""The `brushwork` command: its verb list is pinned, a missing verb module is an error, and both benchmarks run.

The benchmarks are smoke tests at tiny sizes (speed goals never live in tests): they check that each runs end to
end and prints the numbers it promises.
"""

from __future__ import annotations

import re

import pytest

from brushwork import cli
from brushwork.cli import main

# Every verb, in `brushwork --help` order. A new verb (e.g. serve) is added to cli.VERBS and here, one a line.
EXPECTED_VERBS = [
    "train",
    "distill",
    "export",
    "stylize",
    "info",
    "styles",
    "demo",
    "gatys",
    "evaluate",
    "evaluate-video",
    "bench",
    "serve",
    "export-web",
]


def test_the_verb_list_is_pinned(capsys):
    _, modules = cli.build_parser()
    assert list(modules) == EXPECTED_VERBS
    assert main([]) == 2  # no verb: the help, which names each one
    printed = capsys.readouterr().out
    assert all(re.search(rf"^\s+{re.escape(verb)}\s", printed, re.MULTILINE) for verb in EXPECTED_VERBS), printed


def test_a_verb_whose_module_is_missing_is_an_error(monkeypatch):
    """Not a verb that silently disappears from the command."""
    monkeypatch.setitem(cli.VERBS, "ghost", ("brushwork.no_such_module", "a verb whose module is missing"))
    with pytest.raises(ModuleNotFoundError, match="brushwork.no_such_module"):
        cli.build_parser()


def _floats(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"\d+(?:\.\d+)?", text)]


@pytest.mark.slow
def test_bench_train_smoke(capsys):
    rc = main(["bench", "train", "--size", "32", "--batch-sizes", "2", "--modes", "eager", "--amp", "off",
               "--steps", "1", "--warmup", "1", "--arch", "johnson-light", "--device", "cpu"])
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("training step, johnson-light, 32x32, CPU")
    (row,) = [line for line in lines if line.startswith("eager")]
    mode, precision, batch, rate, ms = row.split()
    assert (mode, precision, batch) == ("eager", "fp32", "2") and float(rate) > 0 and float(ms) > 0
    assert lines[-3] == f"fastest: {float(rate):.2f} img/s (eager, fp32, batch 2)"
    assert lines[-2] in ("--amp auto picks fp32 here", "--amp auto picks bf16 here")
    bought = re.fullmatch(r"--time-budget 8h buys about ([\d,]+) images at 32 px = ([\d,]+) steps at batch 2 .*",
                          lines[-1])
    images, steps = (int(g.replace(",", "")) for g in bought.groups())
    # The rate is printed to 2 decimals: on a slow machine (0.04 img/s) that rounding alone is over 1 %.
    assert images == pytest.approx(float(rate) * 8 * 3600, rel=0.01, abs=0.005 * 8 * 3600 + 1)
    assert steps == pytest.approx(images / 2, abs=1)


def test_bench_model_smoke(make_invert_model, tmp_path, capsys):
    """`bench MODEL.onnx`: model-only fps per size and batch, then end-to-end video fps with per-stage times."""
    model = make_invert_model(tmp_path / "invert.onnx")
    rc = main(["bench", str(model), "--size", "64x48", "--batch-sizes", "1,2", "--seconds", "0.05",
               "--device", "cpu", "--threads", "1"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert printed.startswith("machine: ") and "load average after:" in printed
    rows = [line for line in printed.splitlines() if line.startswith("| invert.onnx |")]
    assert len(rows) == 2, printed  # one model-only row, one end-to-end row
    model_row, video_row = (line.strip("| ").split(" | ") for line in rows)
    assert model_row[1:4] == ["fp32", "CPUExecutionProvider", "64x48"]
    assert float(model_row[4]) > 0 and model_row[5].split(":")[0] in ("1", "2") and _floats(model_row[5])[1] > 0
    assert video_row[1] == "64x48" and int(video_row[2]) >= 8  # frames
    assert all(v >= 0 for v in map(float, video_row[3:])) and float(video_row[3]) > 0


def test_bench_bad_size_is_one_line(make_invert_model, tmp_path, capsys):
    model = make_invert_model(tmp_path / "invert.onnx")
    assert main(["bench", str(model), "--size", "64by48"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("brushwork bench: error:") and "WIDTHxHEIGHT" in err and "\n" not in err
