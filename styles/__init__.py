"""Styles that ship with brushwork (fp16 ONNX files and their registry)."""
