"""The browser runtime: an exported style running client-side with onnxruntime-web (no server doing the work).

    static/live.js    window.BrushworkLive: the model on a webcam or a video file, frame by frame, with fps
    static/live.html  the page of a static site (`brushwork export-web`)
    site.py           writes such a site: the page, the script, the model, and the runtime (pinned URL or a copy)
    runtime.py        which onnxruntime-web: the pinned version, its public URL, the files a copy needs

`brushwork serve` offers the same script on its page (Live). Nothing here imports onnxruntime or torch.
"""
