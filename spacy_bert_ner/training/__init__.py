"""spaCy-training plug-ins (the own_tokens augmenter, the memory_guard callback and its heap helper) and
the train-hf glue."""
