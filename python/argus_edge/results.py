"""Typed results of :meth:`argus_edge.Session.run`.

The C++ core returns each task's result as named arrays and the task's decoder kind
(the bundle's manifest declares both). The result class of each kind is found in a table
(:func:`register_result`, :func:`result_class`); each class builds itself from the arrays
(``from_arrays``) and draws itself (``draw``, used by :func:`argus_edge.draw.draw`).
Every per-task result is a frozen dataclass whose arrays are read-only numpy arrays in
image pixels (the image given to ``run``, not the model's input size):

=====================  ========================  ===========================================
decoder kind           class                     arrays
=====================  ========================  ===========================================
dense_detection        :class:`Detections`       boxes (N, 4) xyxy float32, scores, labels
prototype_masks        :class:`Detections`       the same + masks (N, H, W) bool
topdown_keypoints      :class:`Keypoints`        keypoints (N, K, 3) x, y, score; the boxes
label_map              :class:`SegMap`           labels (H, W) int32 class indices
value_map              :class:`DepthMap`         depth (H, W) float32
classification         :class:`Classification`   labels (k,) best first, probabilities (k,)
any other kind         :class:`TaskArrays`       the arrays as the core returned them
=====================  ========================  ===========================================

Coordinates use the pixel-edge convention (pixel ``(i, j)`` covers ``[i, i+1)``);
keypoints are at pixel centres. ``Result.to_dict()`` / ``to_json()`` give plain
JSON-ready data (maps as nested lists only when asked: they are large).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from ._errors import InvalidArgumentError, UnknownTaskError

if TYPE_CHECKING:  # pragma: no cover
    from .draw import Canvas

__all__ = [
    "Classification",
    "DepthMap",
    "Detections",
    "Keypoints",
    "Result",
    "SegMap",
    "TaskArrays",
    "TaskResult",
    "build_result",
    "register_result",
    "result_class",
]

#: decoder kind -> result class
_RESULT_TYPES: dict[str, type] = {}


def register_result(*kinds: str) -> Callable[[type], type]:
    """Class decorator: the result class of these decoder kinds.

    The class provides ``from_arrays(arrays, task)`` (a classmethod: the core's named
    arrays and the task's description, see :meth:`argus_edge.Session.task_info`),
    ``draw(canvas, task)`` and ``to_dict(maps=False)``.

    Raises:
        InvalidArgumentError: a kind already has a class.
    """
    def wrap(cls: type) -> type:
        for kind in kinds:
            if kind in _RESULT_TYPES:
                raise InvalidArgumentError(f"decoder kind {kind!r} already has a result class "
                                           f"({_RESULT_TYPES[kind].__name__})")
            _RESULT_TYPES[kind] = cls
        return cls
    return wrap


def result_class(kind: str) -> type:
    """The result class of ``kind`` (:class:`TaskArrays` for kinds without one)."""
    return _RESULT_TYPES.get(kind, TaskArrays)


def build_result(kind: str, arrays: Mapping[str, np.ndarray],
                 task: Mapping[str, Any]) -> TaskResult:
    """The typed result of one task from the core's arrays, through the kind table."""
    return result_class(kind).from_arrays(arrays, task)


def _frozen(array: np.ndarray, dtype=None) -> np.ndarray:
    out = np.asarray(array, dtype=dtype)
    if out.flags.writeable:
        out = out.view()
        out.flags.writeable = False
    return out


def _rounded(array: np.ndarray, digits: int) -> list:
    """Nested lists of float64-rounded values (float32 would print 4.849999904632568)."""
    return np.round(array.astype(np.float64), digits).tolist()


def _names(class_names: tuple[str, ...], labels: np.ndarray) -> list[str]:
    return [class_names[i] if 0 <= i < len(class_names) else str(i) for i in labels.tolist()]


def _classes(task: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(task.get("classes") or ())


@register_result("dense_detection", "prototype_masks")
@dataclass(frozen=True)
class Detections:
    """Boxes of ``det`` (and ``inst``, with masks), best score first.

    Attributes:
        boxes: (N, 4) float32 x1, y1, x2, y2 in image pixels.
        scores: (N,) float32 in [0, 1].
        labels: (N,) int64 class indices into ``class_names``.
        class_names: the task's classes.
        masks: (N, H, W) bool instance masks at image resolution (``inst``), else None.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...] = ()
    masks: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "boxes", _frozen(self.boxes, np.float32).reshape(-1, 4))
        object.__setattr__(self, "scores", _frozen(self.scores, np.float32))
        object.__setattr__(self, "labels", _frozen(self.labels, np.int64))
        if self.masks is not None:
            object.__setattr__(self, "masks", _frozen(self.masks, bool))

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], task: Mapping[str, Any]) -> Detections:
        """From ``boxes``, ``scores``, ``labels`` and (``prototype_masks``) ``masks``."""
        masks = arrays.get("masks")
        return cls(arrays["boxes"], arrays["scores"], arrays["labels"], _classes(task),
                   None if masks is None else masks.view(bool))

    @property
    def names(self) -> list[str]:
        """The class name of each detection."""
        return _names(self.class_names, self.labels)

    def draw(self, canvas: Canvas, task: str) -> None:
        """Masks blended into the photo, boxes with class names and scores over it."""
        keep = self.scores >= canvas.score_threshold
        if self.masks is not None:
            for mask, label in zip(self.masks[keep], self.labels[keep]):
                canvas.blend(mask, canvas.color(label), canvas.mask_alpha)
        for box, name, label, score in zip(self.boxes[keep], np.array(self.names)[keep],
                                           self.labels[keep], self.scores[keep]):
            canvas.box(box, f"{name} {score:.2f}", canvas.color(label))

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "boxes": _rounded(self.boxes, 2),
            "scores": _rounded(self.scores, 4),
            "labels": self.labels.tolist(),
            "names": self.names,
        }
        if self.masks is not None:
            out["mask_areas"] = self.masks.sum(axis=(1, 2)).tolist()
            if maps:
                out["masks"] = self.masks.astype(np.uint8).tolist()
        return out


@register_result("topdown_keypoints")
@dataclass(frozen=True)
class Keypoints:
    """Top-down pose: one skeleton per detected person.

    Attributes:
        keypoints: (N, K, 3) float32: x, y in image pixels and the heatmap score.
        boxes: (N, 4) float32 the person boxes the crops came from.
        scores: (N,) float32 the person detections' scores.
        keypoint_names: the K keypoint names (COCO order for the 17-point model).
        skeleton: pairs of keypoint indices (0-based) to connect when drawing.
    """

    keypoints: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    keypoint_names: tuple[str, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "keypoints", _frozen(self.keypoints, np.float32))
        object.__setattr__(self, "boxes", _frozen(self.boxes, np.float32).reshape(-1, 4))
        object.__setattr__(self, "scores", _frozen(self.scores, np.float32))

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], task: Mapping[str, Any]) -> Keypoints:
        """From ``keypoints``, ``boxes`` and ``scores``; names and the (1-based) skeleton
        from the task's params."""
        params = task.get("params") or {}
        skeleton = tuple((int(a) - 1, int(b) - 1) for a, b in params.get("skeleton") or ())
        return cls(arrays["keypoints"], arrays["boxes"], arrays["scores"],
                   tuple(params.get("keypoints") or ()), skeleton)

    def draw(self, canvas: Canvas, task: str) -> None:
        """Each person's skeleton (limbs and keypoints above the keypoint threshold)."""
        canvas.skeletons(self)

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        return {
            "keypoints": _rounded(self.keypoints, 2),
            "boxes": _rounded(self.boxes, 2),
            "scores": _rounded(self.scores, 4),
            "keypoint_names": list(self.keypoint_names),
        }


@register_result("label_map")
@dataclass(frozen=True)
class SegMap:
    """Semantic segmentation at image resolution.

    Attributes:
        labels: (H, W) int32 class index per pixel.
        class_names: the task's classes.
    """

    labels: np.ndarray
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels, np.int32))

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], task: Mapping[str, Any]) -> SegMap:
        """From ``label_map``."""
        return cls(arrays["label_map"], _classes(task))

    def draw(self, canvas: Canvas, task: str) -> None:
        """A panel: class colours blended with the photo (background dimmed)."""
        from .draw import colorize_labels
        colors = colorize_labels(self.labels).astype(np.float32)
        fg = (self.labels != 0)[..., None]
        image, alpha = canvas.image, canvas.seg_alpha
        blend = np.where(fg, image * (1 - alpha) + colors * alpha, image * 0.5)
        canvas.panel(blend.astype(np.uint8), order=0)

    def areas(self) -> dict[str, int]:
        """Pixels per class present in the map."""
        ids, counts = np.unique(self.labels, return_counts=True)
        return {_names(self.class_names, np.array([i]))[0]: int(c) for i, c in zip(ids, counts)}

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"shape": list(self.labels.shape), "areas": self.areas()}
        if maps:
            out["labels"] = self.labels.tolist()
        return out


@register_result("value_map")
@dataclass(frozen=True)
class DepthMap:
    """Dense depth at image resolution.

    Attributes:
        depth: (H, W) float32 depth in the unit the model was trained with (metres for
            the synthetic and NYU-style configs).
    """

    depth: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", _frozen(self.depth, np.float32))

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], task: Mapping[str, Any]) -> DepthMap:
        """From ``value_map``."""
        return cls(arrays["value_map"])

    def draw(self, canvas: Canvas, task: str) -> None:
        """A panel: the map in the turbo colour map (near red, far blue)."""
        from .draw import colorize_depth
        canvas.panel(colorize_depth(self.depth), order=1)

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        d = self.depth
        out: dict[str, Any] = {"shape": list(d.shape)}
        if d.size:
            out.update(min=float(d.min()), max=float(d.max()), median=float(np.median(d)))
        if maps:
            out["depth"] = _rounded(d, 4)
        return out


@register_result("classification")
@dataclass(frozen=True)
class Classification:
    """Image classification: the top-k classes.

    Attributes:
        labels: (k,) int64 class indices, most probable first.
        probabilities: (k,) float32 softmax probabilities.
        class_names: the task's classes.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels, np.int64))
        object.__setattr__(self, "probabilities", _frozen(self.probabilities, np.float32))

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray],
                    task: Mapping[str, Any]) -> Classification:
        """From ``class_labels`` and ``class_scores``."""
        return cls(arrays["class_labels"], arrays["class_scores"], _classes(task))

    def draw(self, canvas: Canvas, task: str) -> None:
        """The top-1 class and its probability as the caption."""
        if len(self.labels):
            canvas.caption = f"{task}: {self.top1} {float(self.probabilities[0]):.2f}"

    @property
    def names(self) -> list[str]:
        return _names(self.class_names, self.labels)

    @property
    def top1(self) -> str:
        """Name of the most probable class."""
        return self.names[0] if len(self.labels) else ""

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        return {"labels": self.labels.tolist(), "names": self.names,
                "probabilities": _rounded(self.probabilities, 4)}


@dataclass(frozen=True)
class TaskArrays:
    """The result of a task whose decoder kind has no result class here: the arrays as
    the core returned them (a bundle made by a newer argus-edge, or a kind registered by
    an application).

    Attributes:
        kind: the decoder kind.
        arrays: array name -> read-only array, in the kind's order.
    """

    kind: str
    arrays: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        object.__setattr__(self, "arrays", {k: _frozen(v) for k, v in self.arrays.items()})

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], task: Mapping[str, Any]) -> TaskArrays:
        return cls(str(task.get("kind", "")), dict(arrays))

    def draw(self, canvas: Canvas, task: str) -> None:
        """Nothing: the kind's meaning is not known here."""

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind,
                               "shapes": {k: list(v.shape) for k, v in self.arrays.items()}}
        if maps:
            out["arrays"] = {k: v.tolist() for k, v in self.arrays.items()}
        return out


TaskResult = Union[Detections, Keypoints, SegMap, DepthMap, Classification, TaskArrays]


@dataclass(frozen=True)
class Result:
    """Everything ``Session.run`` returned for one image.

    Per-task results are attributes (``r.det``, ``r.pose``, ...) and items
    (``r["det"]``); asking for a task that was not run raises UnknownTaskError.

    Attributes:
        image: the (H, W, 3) uint8 RGB image the tasks ran on (read-only; for ``draw``).
        tasks: task key -> result, in the order they were requested.
    """

    image: np.ndarray = field(repr=False)
    tasks: Mapping[str, TaskResult]

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", _frozen(self.image, np.uint8))
        object.__setattr__(self, "tasks", dict(self.tasks))

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the image."""
        return int(self.image.shape[0]), int(self.image.shape[1])

    def __getitem__(self, task: str) -> TaskResult:
        try:
            return self.tasks[task]
        except KeyError:
            raise UnknownTaskError(
                f"task {task!r} was not run; this result has {list(self.tasks)}") from None

    def __getattr__(self, task: str) -> TaskResult:
        if task.startswith("_") or task in ("image", "tasks"):
            raise AttributeError(task)
        try:
            return self[task]
        except UnknownTaskError as e:
            raise AttributeError(str(e)) from None

    def __contains__(self, task: object) -> bool:
        return task in self.tasks

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        """Plain data: ``{"height", "width", "tasks": {task: {...}}}``.

        Args:
            maps: include the dense maps (instance masks, seg labels, depth) as nested
                lists; off by default (summaries only: areas, depth range).
        """
        h, w = self.size
        return {"height": h, "width": w,
                "tasks": {k: v.to_dict(maps=maps) for k, v in self.tasks.items()}}

    def to_json(self, maps: bool = False, **kwargs: Any) -> str:
        """``json.dumps(self.to_dict(maps))``; keyword arguments go to json.dumps."""
        return json.dumps(self.to_dict(maps=maps), **kwargs)

    def draw(self, **kwargs: Any):
        """An overlay of every result as a PIL image (see :func:`argus_edge.draw.draw`)."""
        from .draw import draw
        return draw(self, **kwargs)
