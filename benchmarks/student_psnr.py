"""How close is a distilled student to its teacher on photos it never saw? PSNR per photo, mean and worst.

    python benchmarks/student_psnr.py TEACHER student.onnx ../shared/data/content --side 640 --contact sheet.jpg

TEACHER is anything `brushwork distill` takes (run directory, checkpoint, .onnx, shipped style name); it runs in
torch fp32, the student through onnxruntime as users run it. --contact writes photo | teacher | student rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from brushwork.data.images import list_images
from brushwork.models.export import psnr
from brushwork.train.distill import teacher_and_student


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("teacher")
    parser.add_argument("student", type=Path)
    parser.add_argument("photos", type=Path)
    parser.add_argument("--side", type=int, default=640, help="longest side of each photo (default: %(default)s)")
    parser.add_argument("--contact", type=Path, help="write a contact sheet (photo | teacher | student) here")
    args = parser.parse_args()
    rows, scores = [], []
    for path, image, reference, out in teacher_and_student(args.teacher, args.student, list_images(args.photos),
                                                           args.side):
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
