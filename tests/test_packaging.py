"""The wheel ships the package `brushwork` and nothing else (no tests/, benchmarks/, docs/ at the top level).

The build runs without isolation (offline: no PyPI for the build backend), so it uses this environment's setuptools,
which the dev extra pins (`setuptools>=69`, as pyproject's build-system asks; a fresh Python 3.11 venv has 65.5).
"""

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Virtual environments of any name (.ci/run makes .venv-ci in the repo root), VCS data and build outputs.
SKIP = shutil.ignore_patterns(".venv*", ".git", "node_modules", "runs", "build", "dist", "*.egg-info", "__pycache__",
                              ".pytest_cache", ".ruff_cache")


def test_copy_skips_virtualenvs_and_build_outputs():
    names = [".venv", ".venv-ci", ".venv311", ".git", "runs", "build", "brushwork.egg-info", "train", "tests",
             "cli.py", "README.md", "pyproject.toml", ".gitignore", "venv_notes.md", "node_modules"]
    assert SKIP(str(ROOT), names) == {".venv", ".venv-ci", ".venv311", ".git", "runs", "build", "brushwork.egg-info",
                                      "node_modules"}


@pytest.mark.slow
def test_wheel_contains_only_the_package(tmp_path):
    setuptools = tuple(int(p) for p in importlib.metadata.version("setuptools").split(".")[:2])
    assert setuptools >= (69, 0), "setuptools < 69: install the dev extra (pip install -c constraints.txt -e .[dev])"
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)  # build a copy: setuptools writes build/ beside the sources
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(source)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("brushwork-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    outside = [n for n in names if not n.startswith(("brushwork/", "brushwork-"))]
    assert not outside, outside
    assert not [n for n in names if n.split("/")[1:2] in (["tests"], ["benchmarks"], ["docs"])]
    for module in ("brushwork/__init__.py", "brushwork/cli.py", "brushwork/train/loop.py",
                   "brushwork/models/transformer_net.py", "brushwork/data/photos.py"):
        assert module in names
    shipped = sorted(p.name for p in (ROOT / "styles").glob("*.onnx"))
    assert sorted(n.split("/")[-1] for n in names if n.startswith("brushwork/styles/") and
                              n.endswith(".onnx")) == shipped  # every shipped model, and the wip weights never
    assert not [n for n in names if "/wip/" in n or n.endswith(".pt")]
    # the browser page and script ship; onnxruntime-web does not (its pinned URL, or a local npm install)
    assert {"brushwork/infer/web/static/live.js", "brushwork/infer/web/static/live.html"} <= set(names)
    assert not [n for n in names if n.endswith(".wasm") or "ort.min" in n or "node_modules" in n]
    assert all(n.endswith(("dist-info/METADATA", "dist-info/WHEEL", "dist-info/RECORD", "dist-info/top_level.txt",
                           "dist-info/entry_points.txt", "dist-info/licenses/LICENSE"))
               for n in names if n.startswith("brushwork-"))
