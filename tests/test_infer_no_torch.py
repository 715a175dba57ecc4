"""The runtime never imports torch: `import brushwork.infer` and a real `brushwork stylize` (image, video and
animated GIF), `info` and `styles`, run in a fresh interpreter, leave "torch" out of sys.modules."""

import json
import subprocess
import sys

import av
import numpy as np
from PIL import Image

SCRIPT = """
import json, sys
import brushwork.infer
from brushwork.infer import Stylizer
from brushwork.cli import main
codes = [main(["stylize", sys.argv[1], "-o", sys.argv[2], "--model", sys.argv[3], "--quiet"]),
         main(["stylize", sys.argv[4], "-o", sys.argv[5], "--model", sys.argv[3], "--quiet"]),
         main(["stylize", sys.argv[6], "-o", sys.argv[7], "--model", sys.argv[3], "--quiet"]),
         main(["info", sys.argv[3]]), main(["styles"])]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision", "onnx"))
print(json.dumps({"codes": codes, "heavy": heavy}))
"""




def make_video(path):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((24, 32, 3), 40 * i, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_stylize_never_imports_torch(tmp_path, make_invert_model):
    model = make_invert_model(tmp_path / "m.onnx")
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "in.png")
    video = make_video(tmp_path / "in.mp4")
    frames = [Image.fromarray(np.full((20, 30, 3), 60 * i, np.uint8)) for i in range(3)]
    frames[0].save(tmp_path / "in.gif", save_all=True, append_images=frames[1:], duration=100)
    args = [tmp_path / "in.png", tmp_path / "out.png", model, video, tmp_path / "out.mp4", tmp_path / "in.gif",
            tmp_path / "out.gif"]
    result = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, args)], check=False, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["codes"] == [0, 0, 0, 0, 0]
    assert report["heavy"] == []
    assert (tmp_path / "out.png").is_file() and (tmp_path / "out.mp4").is_file()
    assert Image.open(tmp_path / "out.gif").n_frames == 3
