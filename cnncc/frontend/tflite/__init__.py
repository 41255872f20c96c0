"""TFLite <-> layer IR: ``reader`` (``load_tflite``: int8 / int16x8 / float models, per-tensor and per-channel
quantisation) and ``writer`` (int8 TFLite flatbuffer for Arm's Vela: :func:`write_tflite`)."""
