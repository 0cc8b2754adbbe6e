"""Configs of the dense ``det`` and ``inst`` heads (frozen, flat: they go into the bundle)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetHeadConfig:
    """The ``det`` head: a one-stage anchor-free dense detector on strides 8/16/32.

    The post-processing fields are part of the config because the exported bundle stores
    them and the runtime applies them exactly as :func:`.postprocess.postprocess_detections`.

    Attributes:
        num_classes: object classes (no background class: scores are per-class sigmoids).
        class_names: optional names, one per class.
        channels: width of the conv towers.
        num_convs: 3×3 conv + GroupNorm + ReLU layers in each tower (cls and box).
        strides: feature strides the head runs on, each one of 4, 8, 16, 32. ATSS's
            anchor of a point is ``anchor_scale · stride``, so the finest level should
            suit the smallest objects: one much smaller than that anchor gets one or
            two positives (or none); add stride 4 when the input holds objects of
            about 10-30 px (training/configs/synthetic.yaml).
        atss_topk: ATSS candidates per level per ground-truth box.
        anchor_scale: side of the square "anchor" of a point, in strides (ATSS: 8).
        qfl_beta: focusing exponent of the Quality Focal Loss.
        cls_weight: weight of the classification (QFL) loss.
        box_weight: weight of the GIoU loss.
        score_threshold: detections scoring below are dropped before NMS.
        iou_threshold: NMS IoU threshold (a box is suppressed when IoU > threshold).
        pre_nms_topk: at most this many (point, class) candidates enter NMS.
        max_detections: detections kept per image after NMS.
        class_agnostic: NMS across classes (True) or per class (False).
    """

    num_classes: int = 80
    class_names: tuple[str, ...] = ()
    channels: int = 128
    num_convs: int = 2
    strides: tuple[int, ...] = (8, 16, 32)
    atss_topk: int = 9
    anchor_scale: float = 8.0
    qfl_beta: float = 2.0
    cls_weight: float = 1.0
    box_weight: float = 2.0
    score_threshold: float = 0.05
    iou_threshold: float = 0.6
    pre_nms_topk: int = 1000
    max_detections: int = 100
    class_agnostic: bool = False


@dataclass(frozen=True)
class InstHeadConfig(DetHeadConfig):
    """The ``inst`` head: the ``det`` head plus YOLACT-style mask prototypes.

    Attributes (in addition to :class:`DetHeadConfig`'s):
        num_protos: prototypes K (and mask coefficients per point).
        proto_channels: width of the prototype net.
        proto_convs: 3×3 conv layers of the prototype net at stride 4.
        mask_weight: weight of the per-pixel BCE of the assembled masks.
        dice_weight: weight of the dice loss of the assembled masks.
        max_mask_positives: positives per image whose masks are assembled in the loss
            (a random subset beyond that; bounds memory at H/4 × W/4 per positive).
        mask_threshold: probability above which a pasted mask pixel is foreground.
    """

    num_protos: int = 32
    proto_channels: int = 128
    proto_convs: int = 2
    mask_weight: float = 1.0
    dice_weight: float = 1.0
    max_mask_positives: int = 100
    mask_threshold: float = 0.5
