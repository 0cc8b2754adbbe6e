"""Task heads, registered by task key. Each takes the adapter's four maps."""

from ._registry import (
    build_head,
    head_config_class,
    head_config_from_dict,
    list_decoders,
    list_heads,
    register_head,
)
from .base import TaskHead
from .classification import AttentionalPoolerHead, ClsHeadConfig
from .dense import DetHead, DetHeadConfig, InstHead, InstHeadConfig
from .depth import DepthHead, DepthHeadConfig
from .pose import PoseHead, PoseHeadConfig
from .sem_fpn import FPNSemHead, FPNSemHeadConfig
from .semantic import SemanticHead, SemCommonConfig
from .upernet import SemHeadConfig, UperNetHead

__all__ = [
    "AttentionalPoolerHead", "ClsHeadConfig", "DepthHead", "DepthHeadConfig", "PoseHead",
    "PoseHeadConfig", "SemHeadConfig", "TaskHead", "UperNetHead",
    "DetHead", "DetHeadConfig", "InstHead", "InstHeadConfig",
    "FPNSemHead", "FPNSemHeadConfig", "SemanticHead", "SemCommonConfig",
    "build_head", "head_config_class", "head_config_from_dict", "list_decoders",
    "list_heads", "register_head",
]
