"""The ONNX engine: a frame in, a frame out, with onnxruntime (no torch, no flags).

    contract.py     what an exported file looks like: names, stride, edge margin, metadata keys, the tile graph
    session.py      Stylizer: one session over an exported file (Frames: the calls every stylizer answers)
    stroke.py       StrokeScale: the same strokes against the picture at any size (the working size, then back up)
    upsample.py     the painting back at full size with the photo's fine detail
    padding.py      frames smaller than the network takes: padded, run, cropped back
    tiling.py       TiledStylizer: any size in bounded memory, exactly as one run would, layer by layer
    program.py      the tile graph's steps: what each reads, writes and costs
    memory.py       how much memory a tiled run may take, and how it is shared
    activations.py  whole-frame activations in memory or in temporary files
    seams.py        how visible the borders between pieces are (the seam tests and benchmark)
"""
