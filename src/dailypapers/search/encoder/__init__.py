"""The embedding model: loading the bundled MiniLM (embeddings), exporting it to ONNX (onnx_export),
and the optional torch pipeline for a GPU (gpu)."""
