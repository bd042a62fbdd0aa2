"""``train-hf``: the Hugging Face course recipe (labels, encoding, backbone and head, metrics, the Trainer),
its settings and budget."""
