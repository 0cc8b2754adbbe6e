"""``argus_edge.Session``: run a ``.engine`` bundle on images.

    s = argus_edge.Session("argus_tiny.engine")        # backend chosen and reported
    r = s.run("street.jpg", tasks=["det", "pose"])     # backbone once, two heads
    r.det.boxes, r.pose.keypoints; r.draw().save("out.png")

The task scheduling (backbone once per image, then only the requested heads; pose on
person crops from det), the pre-processing and the decoding are libargus's C++ Session
for every backend. What differs is the engine that runs the graphs:

==============  ==============================================================  =========
backend         graphs run by                                                   variants
==============  ==============================================================  =========
``openvino``    libargus's OpenVINO C++ backend, with the fused                 openvino-*
                ``ai.argus::ScaledDeformAttn`` kernel for graphs that use it
``onnxruntime`` the ``onnxruntime`` Python package (CPU provider)               onnx-*
``tensorrt``    libargus built with ``-DARGUS_WITH_TENSORRT=ON`` (not available
                in this build: requesting it raises BackendUnavailableError)
==============  ==============================================================  =========

``backend="auto"`` takes the first of ``openvino``, ``onnxruntime``, ``tensorrt`` that
(1) the bundle holds a variant of for every graph, at the requested precision, and
(2) is usable here (built into the core / the package is importable, and can run the
bundle's custom nodes). It never falls back silently after that: ``Session.backend``
reports the choice, and an explicitly requested backend that cannot run raises
:class:`~argus_edge.BackendUnavailableError`.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core
from ._errors import BackendUnavailableError, InvalidArgumentError, UnknownTaskError
from ._image import as_image
from .bundle import read_bundle
from .runners import GraphRunner, RunnerOptions, open_graph
from .results import (
    Classification,
    DepthMap,
    Detections,
    Keypoints,
    Result,
    SegMap,
    TaskResult,
)

__all__ = ["BACKEND_ORDER", "PRECISIONS", "Session"]

#: the order in which ``backend="auto"`` tries the backends
BACKEND_ORDER: tuple[str, ...] = ("openvino", "onnxruntime", "tensorrt")
#: precisions a Session can ask for (bf16: the fp32 graphs with OpenVINO's bf16 hint)
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8", "bf16")
# Preferred variant precision when none is requested.
_DEFAULT_PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class _Choice:
    backend: str
    variant: str
    precision: str   # the variant's precision
    hint: str        # OpenVINO INFERENCE_PRECISION_HINT ("" for other backends)


class _OnnxRuntimeBackend:
    """The libargus Backend protocol over the runtime's ONNX Runtime graph runners."""

    name = "onnxruntime"

    def __init__(self, bundle, threads: int) -> None:
        self._bundle, self._options = bundle, RunnerOptions(threads=threads)
        self._graphs: dict[str, GraphRunner] = {}

    def load_graph(self, graph: str, variant: str) -> None:
        self._graphs[graph] = open_graph(self._bundle, graph, variant, self._options)

    def run(self, graph: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._graphs[graph].run(inputs)


class Session:
    """One bundle, one backend; ``run`` is safe to call from several threads at once.

    Args:
        path: the ``.engine`` bundle.
        backend: ``"auto"``, ``"openvino"``, ``"onnxruntime"`` or ``"tensorrt"``.
        device: OpenVINO device (``"CPU"``, ``"GPU"``, ``"NPU"``); ONNX Runtime: CPU only.
        threads: inference threads (None: the engine's default).
        precision: ``"fp32"``, ``"fp16"``, ``"int8"`` (the bundle's variant of that
            precision) or ``"bf16"`` (fp32 graphs, OpenVINO bf16 inference); None: the
            most precise variant the bundle holds for the backend, run exactly (OpenVINO
            ``f32`` hint for fp32 graphs).
        score_threshold: det/inst score threshold; None: the bundle's.

    Raises:
        BundleNotFoundError, BundleError: a missing, corrupt, truncated or tampered bundle.
        BackendUnavailableError: the backend is not installed / built, or the bundle has
            no variant for it at that precision.
        InvalidArgumentError: an unknown backend or precision name.
    """

    def __init__(self, path: str | os.PathLike, backend: str = "auto", device: str = "CPU",
                 threads: int | None = None, precision: str | None = None, *,
                 score_threshold: float | None = None) -> None:
        if backend not in ("auto",) + BACKEND_ORDER:
            raise InvalidArgumentError(
                f"unknown backend {backend!r}; expected 'auto' or one of {BACKEND_ORDER}")
        if precision is not None and precision not in PRECISIONS:
            raise InvalidArgumentError(
                f"unknown precision {precision!r}; expected one of {PRECISIONS} or None")
        if threads is not None and (not isinstance(threads, int) or threads < 0):
            raise InvalidArgumentError(f"threads must be a non-negative int, got {threads!r}")
        self.path = os.fspath(path)
        # Header, manifest and layout only: the core verifies every checksum when it opens
        # the bundle below, before any graph is loaded (hashing it twice would double the
        # start-up cost of a large bundle).
        self._bundle = read_bundle(self.path, verify=False)
        self._manifest = self._bundle.manifest
        self.device = device
        self.threads = threads
        try:  # the bundle mapping is released if the backend cannot be set up
            choice = self._choose(backend, precision)
            self._choice = choice
            thr = -1.0 if score_threshold is None else float(score_threshold)
            if choice.backend == "openvino":
                self._core = _core.Session(
                    self.path, "openvino", device=device, threads=threads or 0,
                    precision_hint=choice.hint, variant=choice.variant,
                    extensions=self._openvino_extensions(), score_threshold=thr)
            elif choice.backend == "onnxruntime":
                if device.upper() != "CPU":
                    raise BackendUnavailableError(
                        f"the onnxruntime backend runs on CPU only, not {device!r}")
                self._core = _core.Session(
                    self.path, _OnnxRuntimeBackend(self._bundle, threads or 0),
                    variant=choice.variant, score_threshold=thr)
            else:  # pragma: no cover - _choose never returns an unusable backend
                raise BackendUnavailableError(f"backend {choice.backend!r} is not usable")
        except BaseException:
            self._bundle.close()
            raise

    def close(self) -> None:
        """Releases the compiled graphs and the bundle mapping (idempotent)."""
        self._core = None
        self._bundle.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- backend choice -------------------------------------------------------------
    def _variants_for(self, backend: str) -> dict[str, str]:
        """precision -> variant name that every graph has for ``backend``."""
        common: dict[str, str] | None = None
        for graph in self._manifest["graphs"].values():
            here = {v.get("precision", ""): name for name, v in graph.get("variants", {}).items()
                    if v.get("backend") == backend}
            common = here if common is None else {p: n for p, n in common.items()
                                                  if here.get(p) == n}
        return common or {}

    def _custom_ops(self) -> bool:
        return any(g.get("custom_ops") for g in self._manifest["graphs"].values())

    def _usable(self, backend: str) -> str | None:
        """None when ``backend`` can run here, else why not."""
        if backend == "openvino":
            if not _core.backend_available("openvino"):
                return "argus_edge._core was built without -DARGUS_WITH_OPENVINO=ON"
            return None
        if backend == "onnxruntime":
            if importlib.util.find_spec("onnxruntime") is None:
                return "the onnxruntime package is not installed (pip install onnxruntime)"
            if self._custom_ops():
                return ("the bundle's graphs use ai.argus custom nodes, which only the "
                        "openvino backend runs (export with deform='standard' for ORT)")
            return None
        return ("argus_edge._core was built without -DARGUS_WITH_TENSORRT=ON (the TensorRT "
                "headers and libraries are not on this machine)")

    def _pick(self, backend: str, precision: str | None) -> _Choice | str:
        variants = self._variants_for(backend)
        if not variants:
            return f"the bundle has no {backend} variants for every graph"
        wanted = ("fp32",) if precision == "bf16" else \
            (precision,) if precision else _DEFAULT_PRECISIONS
        for p in wanted:
            if p in variants:
                if precision == "bf16" and backend != "openvino":
                    return "bf16 inference is an OpenVINO precision hint"
                hint = ("bf16" if precision == "bf16" else "f32" if p == "fp32" else "")
                return _Choice(backend, variants[p], p, hint if backend == "openvino" else "")
        return (f"the bundle's {backend} variants are {sorted(variants)}, not "
                f"{precision or 'any known precision'}")

    def _choose(self, backend: str, precision: str | None) -> _Choice:
        reasons = []
        for b in (BACKEND_ORDER if backend == "auto" else (backend,)):
            picked = self._pick(b, precision)
            why = self._usable(b) or (picked if isinstance(picked, str) else None)
            if why is None:
                return picked  # type: ignore[return-value]
            reasons.append(f"{b}: {why}")
        raise BackendUnavailableError(
            f"cannot run {self.path!r} with backend={backend!r}"
            f"{'' if precision is None else f', precision={precision!r}'}: "
            + "; ".join(reasons))

    def _openvino_extensions(self) -> list[str]:
        if not self._custom_ops():
            return []
        from ._extensions import openvino_extension_path
        return [str(openvino_extension_path())]

    # ---- what the session holds -----------------------------------------------------
    @property
    def backend(self) -> str:
        """The backend running the graphs (``"openvino"``, ``"onnxruntime"``)."""
        return self._choice.backend

    @property
    def precision(self) -> str:
        """The precision of the graphs' variant (``"fp32"``, ``"fp16"``, ``"int8"``)."""
        return self._choice.precision

    @property
    def tasks(self) -> list[str]:
        """Task keys the bundle provides, sorted."""
        return list(self._core.tasks)

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        """Per task: the model input it runs at (images of any size are resized to it).

        ``{"det": {"height": 512, "width": 512, "color": "RGB", "resize": "letterbox"}}``
        """
        pre = self._manifest.get("preprocess", {})
        out = {}
        for name, t in sorted(self._manifest["tasks"].items()):
            h, w = t.get("input_size") or self._manifest["graphs"][t["graph"]]["input_size"]
            out[name] = {"height": h, "width": w, "color": pre.get("color", "RGB"),
                         "resize": pre.get("resize", "letterbox") if name != "pose"
                         else "person crops (affine)"}
        return out

    @property
    def info(self) -> dict[str, Any]:
        """The model, backend, variant, device and task list, as plain data."""
        m = self._manifest
        return {
            "path": self.path,
            "model": m.get("model", {}).get("name"),
            "parameters": m.get("model", {}).get("parameters"),
            "sdk_version": m.get("sdk_version"),
            "backend": self.backend,
            "variant": self._choice.variant,
            "precision": self.precision,
            "inference_precision": self._choice.hint or self.precision,
            "device": self.device,
            "threads": self.threads,
            "tasks": self.tasks,
            "calibration": m.get("provenance", {}).get("calibration"),
        }

    def class_names(self, task: str) -> tuple[str, ...]:
        """The classes of ``task`` (empty for tasks without classes)."""
        self._check_tasks([task])
        return tuple(self._manifest["tasks"][task].get("classes") or ())

    def graph_calls(self) -> dict[str, int]:
        """How often each graph ran since the Session was created (or reset)."""
        return dict(self._core.graph_calls())

    def graph_seconds(self) -> dict[str, float]:
        """Wall-clock seconds each graph spent in the backend since creation (or reset)."""
        return dict(self._core.graph_seconds())

    def reset_graph_calls(self) -> None:
        """Zeroes :meth:`graph_calls` and :meth:`graph_seconds`."""
        self._core.reset_graph_calls()

    def __repr__(self) -> str:
        return (f"Session({self.path!r}, backend={self.backend!r}, "
                f"precision={self.precision!r}, tasks={self.tasks})")

    # ---- running --------------------------------------------------------------------
    def _require_open(self) -> Any:
        if self._core is None:
            raise InvalidArgumentError("the Session is closed")
        return self._core

    def _check_tasks(self, tasks: Sequence[str]) -> list[str]:
        if isinstance(tasks, str):
            tasks = [tasks]
        tasks = list(tasks)
        if not tasks:
            raise UnknownTaskError("no task requested; the bundle has " + str(self.tasks))
        for t in tasks:
            if not isinstance(t, str):
                raise InvalidArgumentError(f"task names are strings, got {t!r}")
            if t not in self._manifest["tasks"]:
                raise UnknownTaskError(f"the bundle has no task {t!r}; it has {self.tasks}")
        if len(set(tasks)) != len(tasks):
            raise InvalidArgumentError(f"a task is repeated in {tasks}")
        return tasks

    def run(self, image: Any, tasks: Sequence[str] | str | None = None,
            color: str = "RGB") -> Result | list[Result]:
        """Runs ``tasks`` on one image, or on a list of images as one batch.

        Args:
            image: a path, a PIL image, a numpy uint8 (H, W, 3) array, a list of those
                (one batch: the backbone and each head run once for all), or an
                (N, H, W, 3) uint8 array (a batch).
            tasks: task keys (default: every task of the bundle); a single string works.
            color: channel order of numpy arrays, ``"RGB"`` or ``"BGR"``.

        Returns:
            A :class:`~argus_edge.results.Result`, or a list of them for a batch.

        Raises:
            UnknownTaskError: a task the bundle does not have (or none).
            ImageError: an unreadable file, wrong dtype/shape, an empty image.
        """
        batch = isinstance(image, (list, tuple)) or (
            isinstance(image, np.ndarray) and image.ndim == 4)
        images = list(image) if batch else [image]
        if batch and not images:
            raise InvalidArgumentError("an empty list of images")
        tasks = self._check_tasks(self.tasks if tasks is None else tasks)
        arrays = [as_image(im, color) for im in images]
        # The core takes one colour order per batch: convert BGR entries of mixed input.
        order = arrays[0][1]
        pixels = [a if c == order else a[..., ::-1].copy() for a, c in arrays]
        raw = self._require_open().run_batch(pixels, tasks, order)
        rgb = [p if order == "RGB" else np.ascontiguousarray(p[..., ::-1]) for p in pixels]
        results = [Result(im, {t: self._wrap(t, out[t]) for t in tasks})
                   for im, (_, out) in zip(rgb, raw)]
        return results if batch else results[0]

    def _wrap(self, task: str, raw: dict[str, np.ndarray]) -> TaskResult:
        spec = self._manifest["tasks"][task]
        classes = tuple(spec.get("classes") or ())
        if task in ("det", "inst"):
            masks = raw.get("masks")
            return Detections(raw["boxes"], raw["scores"], raw["labels"], classes,
                              None if masks is None else masks.astype(bool))
        if task == "pose":
            kp = np.concatenate([raw["keypoints"], raw["keypoint_scores"][..., None]], axis=-1)
            skeleton = tuple((int(a) - 1, int(b) - 1) for a, b in spec.get("skeleton", ()))
            return Keypoints(kp, raw["boxes"], raw["scores"],
                             tuple(spec.get("keypoints") or ()), skeleton)
        if "label_map" in raw:
            return SegMap(raw["label_map"], classes)
        if "value_map" in raw:
            return DepthMap(raw["value_map"])
        if "class_labels" in raw:
            return Classification(raw["class_labels"], raw["class_scores"], classes)
        raise UnknownTaskError(f"task {task!r} has no Python result type")  # pragma: no cover

    def stream(self, frames: Iterable[Any] | str | int, tasks: Sequence[str] | None = None,
               color: str | None = None, depth: int = 2) -> Iterator[Result]:
        """Results frame by frame, in order, with ``depth`` frames in flight.

        While frame i is in inference, frame i+1 is decoded and pre-processed on another
        thread (the core releases the GIL), so the two overlap.

        Args:
            frames: any iterable of images (arrays, paths, PIL images), or a video file
                path / camera index for ``cv2.VideoCapture`` (needs opencv-python).
            tasks: as for :meth:`run`.
            color: channel order of array frames; default ``"BGR"`` for VideoCapture
                frames and ``"RGB"`` otherwise.
            depth: frames in flight (>= 1).

        Yields:
            One Result per frame.
        """
        if depth < 1:
            raise InvalidArgumentError(f"depth must be >= 1, got {depth}")
        if isinstance(frames, (str, int, os.PathLike)):
            source: Iterable[Any] = _video_frames(frames)
            color = color or "BGR"
        else:
            source = frames
        color = color or "RGB"
        tasks = self._check_tasks(self.tasks if tasks is None else tasks)
        with concurrent.futures.ThreadPoolExecutor(max_workers=depth,
                                                   thread_name_prefix="argus-stream") as pool:
            pending: list[concurrent.futures.Future] = []
            for frame in source:
                pending.append(pool.submit(self.run, frame, tasks, color))
                if len(pending) >= depth:
                    yield pending.pop(0).result()
            for f in pending:
                yield f.result()


def _video_frames(source: str | int | os.PathLike) -> Iterator[np.ndarray]:
    try:
        import cv2
    except ImportError as e:
        raise BackendUnavailableError(
            "reading video needs OpenCV (pip install opencv-python-headless)") from e
    from ._errors import ImageError
    if not isinstance(source, int) and not os.path.exists(source) \
            and "://" not in os.fspath(source):
        raise ImageError(f"video {os.fspath(source)!r} does not exist")
    cap = cv2.VideoCapture(source if isinstance(source, int) else os.fspath(source))
    if not cap.isOpened():
        raise ImageError(f"cannot open video {source!r}")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()
