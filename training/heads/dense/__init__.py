"""The dense one-stage heads ``det`` and ``inst`` and their reference post-processing."""

from .assigner import Assignment, atss_assign
from .config import DetHeadConfig, InstHeadConfig
from .head import DenseHead, DetHead, InstHead
from .letterbox import Letterbox, boxes_to_image
from .mask_paste import assemble_mask_logits, paste_masks
from .nms import batched_nms, nms, nms_bruteforce
from .points import anchor_points, level_sizes
from .postprocess import decode_boxes, postprocess_detections, select_candidates, sigmoid

__all__ = [
    "Assignment", "DenseHead", "DetHead", "DetHeadConfig", "InstHead", "InstHeadConfig",
    "Letterbox", "anchor_points", "assemble_mask_logits", "atss_assign", "batched_nms",
    "boxes_to_image", "decode_boxes", "level_sizes", "nms", "nms_bruteforce", "paste_masks",
    "postprocess_detections", "select_candidates", "sigmoid",
]
