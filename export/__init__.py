"""argus_edge.export: torch → ONNX / OpenVINO / TensorRT export and INT8 quantization.

Importing this package imports torch; the runtime package ``argus_edge`` never does.
"""

__all__: list[str] = []
