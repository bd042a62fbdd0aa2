"""A token classifier as an ONNX graph: export, fusion into ONNX Runtime's kernels, int8 quantization
recipes."""
