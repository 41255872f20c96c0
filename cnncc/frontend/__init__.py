"""File formats <-> layer IR, one folder per format, each with its reader and writer:

* ``cnncc.frontend.onnx``   — ``reader`` (ONNX -> IR: ``load_onnx``; ``wire`` decodes the protobuf wire format
  itself, without importing ``onnx`` or ``google.protobuf``; ``proto``: tensor/attribute helpers on its messages),
  ``ops`` (per-op converters with attribute validation), ``const_eval`` (shape arithmetic evaluated at load time),
  ``quant`` (QDQ / QOperator / integer ops folded into quantised layers), ``writer`` (IR -> ONNX, ``cnncc opt``)
  and ``qdq_writer`` (quantised graphs written back as QDQ ONNX);
* ``cnncc.frontend.tflite`` — ``reader`` + ``reader_ops`` (TFLite -> IR: int8, int16x8 and float models),
  ``writer`` (IR -> int8 TFLite for Arm's Vela, ``cnncc export``), ``builder`` (flatbuffer assembly),
  ``writer_ops`` (per-op emitters), ``writer_lower`` / ``writer_pool`` / ``writer_move`` (lowerings of ops TFLite
  lacks into ones Vela runs on the NPU);
* ``cnncc.frontend.detect`` — which format a file is, by its content.

``tests/contract/test_op_coverage.py`` checks that every IR op kind is handled by each reader/writer (or refused
there with a listed reason).
"""
