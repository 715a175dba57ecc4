"""Media files in and out: pictures (still and animated) and videos, streamed, with their metadata and audio.

    pictures.py      a picture file or PIL image through a stylizer, metadata kept; animated pictures as clips
    animation_io.py  animated GIF, APNG, WebP, AVIF read as frames and written back (or as video)
    video.py         stylize_frames (a generator) and the threaded decode -> stylize -> post -> encode pipeline
    video_io.py      PyAV: opening with clear errors, decoding to RGB arrays, encoding, audio copied
"""
