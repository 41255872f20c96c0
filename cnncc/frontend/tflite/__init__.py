"""TFLite <-> layer IR: ``writer`` (int8 TFLite flatbuffer for Arm's Vela: :func:`write_tflite`)."""
