"""Model exporters: the IR written in other formats (``tflite``: int8 TFLite flatbuffer for Arm's Vela)."""
