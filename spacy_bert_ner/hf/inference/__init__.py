"""Reading: a fine-tuned token classifier loaded and run on pre-split words (options, context, runtimes, ONNX
graphs)."""
