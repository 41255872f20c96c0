"""Frontends: ONNX -> layer IR (and the IR -> ONNX writer used by ``cnncc opt``)."""
