"""Task heads, registered by task key. Each takes the adapter's four maps."""

from ._registry import build_head, head_config_class, head_config_from_dict, list_heads, register_head
from .base import TaskHead
from .classification import AttentionalPoolerHead, ClsHeadConfig
from .upernet import SemHeadConfig, UperNetHead

__all__ = [
    "AttentionalPoolerHead", "ClsHeadConfig", "SemHeadConfig", "TaskHead", "UperNetHead",
    "build_head", "head_config_class", "head_config_from_dict", "list_heads", "register_head",
]
