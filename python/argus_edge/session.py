"""``argus_edge.Session``: run a ``.engine`` bundle on images.

    s = argus_edge.Session("argus_tiny.engine")        # backend chosen and reported
    r = s.run("street.jpg", tasks=["det", "pose"])     # backbone once, two heads
    r.det.boxes, r.pose.keypoints; r.draw().save("out.png")

This class is a thin layer over libargus's C++ Session, which owns every decision: the
backend, the variant of each graph and the inference precision (one rule, shared with the
C API: ``csrc/session/backend_choice.h``), the task checks, the image checks, the
scheduling (backbone once per image, then only the requested heads; tasks that others
need, such as the person boxes of top-down pose, run first) and the pre- and
post-processing. Python converts what users pass (paths, PIL images, video frames) into
arrays and the core's named arrays into typed results (:mod:`argus_edge.results`).

``backend="auto"`` takes the first backend of the registry (:mod:`argus_edge.backends`)
that can run the bundle here at the requested precision; libargus runs OpenVINO itself,
and Python provides the backends libargus has no engine for (ONNX Runtime, through
:mod:`argus_edge.runners`). Nothing falls back silently after that: ``Session.backend``
and ``Session.info`` report the choice, and a backend that cannot run raises
:class:`~argus_edge.BackendUnavailableError` saying why, for each backend tried.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ._errors import BackendUnavailableError, InvalidArgumentError
from ._image import as_image
from .results import Result, build_result

__all__ = ["Session"]


def _extensions() -> list[str]:
    """The fused-kernel extension libraries this install has (none: libargus's default)."""
    from ._extensions import openvino_extension_path
    try:
        return [str(openvino_extension_path())]
    except BackendUnavailableError:
        return []


class Session:
    """One bundle, one backend; ``run`` is safe to call from several threads at once.

    Args:
        path: the ``.engine`` bundle.
        backend: ``"auto"`` or a name of :func:`argus_edge.backends.names`
            (``"openvino"``, ``"onnxruntime"``, ``"tensorrt"``).
        device: engine device (``"CPU"``, ``"GPU"``, ``"NPU"`` for OpenVINO).
        threads: inference threads (None: the engine's default).
        precision: ``"fp32"``, ``"fp16"``, ``"int8"`` (the bundle's variants of that
            precision) or ``"bf16"`` (fp32 variants, bf16 compute); None: the most precise
            variant the bundle holds, run exactly.
        score_threshold: score threshold of the kinds that have one (detections, pose's
            people); None: the bundle's.
        accept_failed_gate: run INT8 variants whose bundle records that they failed their
            accuracy gate (``info["failed_gate"]`` then says why); by default such a
            bundle is refused.
        performance: ``"latency"`` (default: one request uses every thread) or
            ``"throughput"`` (the engine runs several requests at once: OpenVINO's
            THROUGHPUT hint; a batch passed to :meth:`run` is split into one request per
            stream, and :meth:`stream` keeps that many frames in flight).
        streams: parallel inference streams (None: the engine's choice for
            ``performance``).

    Raises:
        BundleNotFoundError, BundleError: a missing, corrupt, truncated or tampered bundle.
        GateFailedError: the variants it would run failed their INT8 accuracy gate.
        BackendUnavailableError: no backend can run the bundle as asked (the message says
            why for each backend tried).
        InvalidArgumentError: an unknown backend or precision name, negative threads.
        ImportError: the compiled core is not built (the message says how to build it).
    """

    def __init__(self, path: str | os.PathLike, backend: str = "auto", device: str = "CPU",
                 threads: int | None = None, precision: str | None = None, *,
                 score_threshold: float | None = None,
                 accept_failed_gate: bool = False, performance: str | None = None,
                 streams: int | None = None) -> None:
        from ._preprocess import _import_core
        from .runners import python_providers

        core = _import_core()
        self.path = os.fspath(path)
        self.device, self.threads = device, threads
        self.performance = performance or "latency"
        self._core = core.Session(
            self.path, backend, precision=precision or "", device=device,
            threads=0 if threads is None else threads, streams=streams or 0,
            performance=performance or "", extensions=_extensions(),
            score_threshold=-1.0 if score_threshold is None else float(score_threshold),
            providers=python_providers(), accept_failed_gate=bool(accept_failed_gate))
        self._choice = self._core.choice
        self._tasks = {t: self._core.task_info(t) for t in self._core.tasks}
        self._manifest = self._core.manifest
        #: frames :meth:`stream` keeps in flight by default: the requests the core runs at
        #: once (throughput mode: one per stream), at least 2 (decoding overlaps inference)
        self.requests = max(2, self._core.parallel_requests)

    def close(self) -> None:
        """Releases the compiled graphs and the bundle mapping (idempotent)."""
        self._core = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- what the session holds -----------------------------------------------------
    @property
    def backend(self) -> str:
        """The backend running the graphs (``"openvino"``, ``"onnxruntime"``)."""
        return self._choice["backend"]

    @property
    def precision(self) -> str:
        """The precision of the graphs' variant (``"fp32"``, ``"fp16"``, ``"int8"``)."""
        return self._choice["precision"]

    @property
    def tasks(self) -> list[str]:
        """Task keys the bundle provides, sorted."""
        return list(self._tasks)

    def task_info(self, task: str) -> dict[str, Any]:
        """What the bundle says of ``task`` and how this libargus runs it.

        Returns:
            ``{"name", "kind" (decoder kind), "graph", "backbone", "input_size" (h, w),
            "classes", "params", "needs", "input" ("image" or "crops"), "results" (the
            arrays of its kind), "error" ("" when it can run, else why not)}``.

        Raises:
            UnknownTaskError: the bundle has no such task.
        """
        return dict(self._require_open().task_info(task))

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        """Per task: the model input it runs at (images of any size are resized to it).

        ``{"det": {"height": 512, "width": 512, "color": "RGB", "resize": "letterbox"}}``;
        tasks that run on crops of other tasks' boxes say so (``"person crops (affine)"``).
        """
        pre = self._manifest.get("preprocess", {})
        out = {}
        for name, t in self._tasks.items():
            h, w = t["input_size"]
            if t["input"] == "crops":
                what = " ".join(n.get("class", "box") for n in t["needs"]) or "box"
                resize = f"{what} crops (affine)"
            else:
                resize = pre.get("resize", "letterbox")
            out[name] = {"height": h, "width": w, "color": pre.get("color", "RGB"),
                         "resize": resize}
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
            "format_version": list(self._core.format_version) if self._core else None,
            "backend": self.backend,
            "variant": self._choice["variant"],
            "precision": self.precision,
            "inference_precision": self._choice["inference_precision"],
            "device": self.device,
            "threads": self.threads,
            "tasks": self.tasks,
            "kinds": {t: i["kind"] for t, i in self._tasks.items()},
            "calibration": m.get("provenance", {}).get("calibration"),
            "failed_gate": self._choice["failed_gate"],
        }

    def class_names(self, task: str) -> tuple[str, ...]:
        """The classes of ``task`` (empty for tasks without classes).

        Raises:
            UnknownTaskError: the bundle has no such task.
        """
        return tuple(self._require_open().class_names(task))

    def graph_calls(self) -> dict[str, int]:
        """How often each graph ran since the Session was created (or reset)."""
        return dict(self._require_open().graph_calls())

    def graph_seconds(self) -> dict[str, float]:
        """Wall-clock seconds each graph spent in the backend since creation (or reset)."""
        return dict(self._require_open().graph_seconds())

    def stage_seconds(self) -> dict[str, float]:
        """Seconds :meth:`run` spent per stage since creation (or reset), summed over calls
        and threads: ``preprocess`` (letterbox, normalization, the ViT rescale), ``graphs``
        (the backend; a graph's first-use compile included) and ``decode`` (the rest:
        decoding, pose crops, result arrays). Python's image conversion is not included."""
        return dict(self._require_open().stage_seconds())

    def reset_graph_calls(self) -> None:
        """Zeroes :meth:`graph_calls`, :meth:`graph_seconds` and :meth:`stage_seconds`."""
        self._require_open().reset_graph_calls()

    def __repr__(self) -> str:
        return (f"Session({self.path!r}, backend={self.backend!r}, "
                f"precision={self.precision!r}, tasks={self.tasks})")

    # ---- running --------------------------------------------------------------------
    def _require_open(self) -> Any:
        if self._core is None:
            raise InvalidArgumentError("the Session is closed")
        return self._core

    def check_tasks(self, tasks: Sequence[str] | str | None = None) -> list[str]:
        """The tasks :meth:`run` would return for ``tasks``, checked as it checks them.

        Raises:
            UnknownTaskError, InvalidArgumentError, BundleError: as :meth:`run`.
        """
        return list(self._require_open().check_tasks(tasks))

    def run(self, image: Any, tasks: Sequence[str] | str | None = None,
            color: str = "RGB") -> Result | list[Result]:
        """Runs ``tasks`` on one image, or on a list of images as one batch.

        Args:
            image: a path, a PIL image, a numpy uint8 (H, W, 3) array, a list of those
                (one batch: the backbone and each head run once for all), or an
                (N, H, W, 3) uint8 array (a batch).
            tasks: task keys (default: every task of the bundle that can run); a single
                string works.
            color: channel order of numpy arrays, ``"RGB"`` or ``"BGR"``.

        Returns:
            A :class:`~argus_edge.results.Result`, or a list of them for a batch.

        Raises:
            UnknownTaskError: a task the bundle does not have (or none).
            InvalidArgumentError: a repeated task, a task name that is not a string, an
                empty batch, a bad ``color``.
            ImageError: an unreadable file, wrong dtype/shape, an empty image.
            BundleError: a task of the bundle this libargus cannot run (its kind, params
                or needs; :meth:`task_info` says why).
        """
        core = self._require_open()
        batch = isinstance(image, (list, tuple)) or (
            isinstance(image, np.ndarray) and image.ndim == 4)
        images = list(image) if batch else [image]
        if batch and not images:
            raise InvalidArgumentError("an empty list of images")
        arrays = [as_image(im, color) for im in images]
        raw = core.run_batch([a for a, _ in arrays], tasks, [c for _, c in arrays])
        results = [Result(_rgb(a, c), {t: build_result(kind, out, self._tasks[t])
                                      for t, (kind, out) in per_task.items()})
                   for (a, c), (_, per_task) in zip(arrays, raw)]
        return results if batch else results[0]

    def stream(self, frames: Iterable[Any] | str | int, tasks: Sequence[str] | None = None,
               color: str | None = None, depth: int | None = None) -> Iterator[Result]:
        """Results frame by frame, in order, with ``depth`` frames in flight.

        While frame i is in inference, frame i+1 is decoded and pre-processed on another
        thread (the core releases the GIL), so the two overlap.

        Args:
            frames: any iterable of images (arrays, paths, PIL images), or a video file
                path / camera index for ``cv2.VideoCapture`` (needs opencv-python).
            tasks: as for :meth:`run`.
            color: channel order of array frames; default ``"BGR"`` for VideoCapture
                frames and ``"RGB"`` otherwise.
            depth: frames in flight (>= 1; default :attr:`requests`: 2, or one per
                stream in throughput mode).

        Yields:
            One Result per frame.
        """
        depth = self.requests if depth is None else depth
        if depth < 1:
            raise InvalidArgumentError(f"depth must be >= 1, got {depth}")
        if isinstance(frames, (str, int, os.PathLike)):
            source: Iterable[Any] = _video_frames(frames)
            color = color or "BGR"
        else:
            source = frames
        color = color or "RGB"
        with concurrent.futures.ThreadPoolExecutor(max_workers=depth,
                                                   thread_name_prefix="argus-stream") as pool:
            pending: list[concurrent.futures.Future] = []
            for frame in source:
                pending.append(pool.submit(self.run, frame, tasks, color))
                if len(pending) >= depth:
                    yield pending.pop(0).result()
            for f in pending:
                yield f.result()


def _rgb(pixels: np.ndarray, color: str) -> np.ndarray:
    """The image a Result keeps (for drawing): RGB."""
    return np.ascontiguousarray(pixels[..., ::-1]) if color == "BGR" else pixels


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
