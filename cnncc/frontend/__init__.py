"""File formats <-> layer IR, one folder per format, each with its reader and writer:

* ``cnncc.frontend.onnx``   — ``reader`` (ONNX -> IR: ``load_onnx``), ``ops`` (per-op converters),
  ``const_eval`` (shape arithmetic evaluated at load time), ``writer`` (IR -> ONNX, ``cnncc opt``);
* ``cnncc.frontend.tflite`` — ``writer`` (IR -> int8 TFLite for Arm's Vela, ``cnncc export``), ``builder``
  (flatbuffer assembly), ``writer_ops`` (per-op emitters).

``cnncc.frontend.coverage`` says, for every IR op kind, which of them handle it (or why it is refused).
"""
