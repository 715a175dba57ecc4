"""How close is a distilled student to its teacher on photos it never saw? PSNR per photo, mean and worst.

    python benchmarks/student_psnr.py TEACHER student.onnx ../shared/data/content --side 640 --contact sheet.jpg

TEACHER is anything `brushwork distill` takes (run directory, checkpoint, .onnx, shipped style name); it runs in
torch fp32, the student through onnxruntime as users run it. --contact writes photo | teacher | student rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from brushwork.data.images import list_images, open_rgb, resize_to_side
from brushwork.infer.session import Stylizer
from brushwork.models.export import ExportWrapper, psnr
from brushwork.train.distill import load_teacher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("teacher")
    parser.add_argument("student", type=Path)
    parser.add_argument("photos", type=Path)
    parser.add_argument("--side", type=int, default=640, help="longest side of each photo (default: %(default)s)")
    parser.add_argument("--contact", type=Path, help="write a contact sheet (photo | teacher | student) here")
    args = parser.parse_args()
    net, _ = load_teacher(args.teacher)
    teacher, student = ExportWrapper(net).eval(), Stylizer(args.student, device="cpu")
    rows, scores = [], []
    for path in list_images(args.photos):
        image = np.asarray(resize_to_side(open_rgb(path), args.side), dtype=np.uint8)
        with torch.no_grad():
            reference = teacher(torch.from_numpy(image.copy())[None])[0].numpy()
        out = student(image)
        scores.append(psnr(out, reference))
        print(f"{path.name}: {scores[-1]:.2f} dB")
        rows.append(np.concatenate([image, reference, out], axis=1))
    print(f"{len(scores)} photos at {args.side} px: PSNR mean {np.mean(scores):.2f} dB, worst {np.min(scores):.2f} dB")
    if args.contact:
        width = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
        Image.fromarray(np.concatenate(rows, axis=0)).save(args.contact, quality=88)


if __name__ == "__main__":
    main()
