"""Which onnxruntime-web the browser runs: one pinned version, from its public URL or from a local npm install.

The version is the one web/package.json pins (`npm ci --prefix web` installs it; a test checks they agree) and the
same as the Python runtime's onnxruntime, so the browser and `brushwork stylize` run the same kernels' release.
Nothing is fetched at install time: the Python package does not grow by the runtime's ~70 MB of WebAssembly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ... import BrushworkError

VERSION = "1.31.1"
PUBLIC_URL = f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{VERSION}/dist/"
# What ort.min.js loads: the script, then the WASM build for the chosen backend (plain SIMD+threads for WASM, JSEP
# or asyncify for WebGPU, depending on the release), each an .mjs loader and its .wasm.
SCRIPT = "ort.min.js"
WASM_PATTERN = "ort-wasm-simd-threaded*"


def check_runtime_dir(folder: Path, flag: str = "--runtime-dir") -> Path:
    """A folder holding onnxruntime-web's dist files; a one-line error naming the flag otherwise."""
    folder = Path(folder)
    if not (folder / SCRIPT).is_file() or not any(folder.glob(WASM_PATTERN + ".wasm")):
        raise BrushworkError(f"{flag} {folder}: no onnxruntime-web build there ({SCRIPT} and "
                             f"{WASM_PATTERN}.wasm); run `npm ci --prefix web` and give "
                             "web/node_modules/onnxruntime-web/dist")
    return folder


def runtime_files(folder: Path) -> list[Path]:
    """The files of a runtime folder that a page needs (source maps and other bundles left out)."""
    folder = check_runtime_dir(folder)
    loaders = [p for p in folder.glob(WASM_PATTERN) if p.suffix in (".mjs", ".wasm")]
    return [folder / SCRIPT, *sorted(loaders)]


def copy_runtime(folder: Path, destination: Path) -> int:
    """Copy the runtime's files into `destination`; returns their total size in bytes."""
    destination.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in runtime_files(folder):
        shutil.copyfile(path, destination / path.name)
        total += path.stat().st_size
    return total
