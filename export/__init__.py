"""argus_edge.export: torch → ONNX / OpenVINO / TensorRT export and INT8 quantization.

Importing this package imports torch; the runtime package ``argus_edge`` never does.
"""

from .bundle_export import ExportOptions, export_bundle
from .deform_op import ScaledDeformAttnRef, scaled_deform_attn_numpy, use_custom_deform
from .graphs import GraphInfo, TensorSpec, export_backbone, export_fused, export_head
from .openvino_ir import compile_ir, run_ir, to_openvino
from .tensorrt import build_engine, trtexec_command

__all__ = [
    "ExportOptions",
    "GraphInfo",
    "ScaledDeformAttnRef",
    "TensorSpec",
    "build_engine",
    "compile_ir",
    "export_backbone",
    "export_bundle",
    "export_fused",
    "export_head",
    "run_ir",
    "scaled_deform_attn_numpy",
    "to_openvino",
    "trtexec_command",
    "use_custom_deform",
]
