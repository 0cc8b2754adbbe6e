"""Typing stubs for ``argus_edge._core``, the compiled C++ core (libargus bindings).

Use the public wrappers in :mod:`argus_edge` where there is one; every function here
raises the typed errors of :mod:`argus_edge._errors` (never crashes on bad input).
"""

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

class Transform:
    """Affine map from image to tensor coordinates: ``tensor = image * scale + offset``.

    Coordinates are continuous pixel-edge coordinates (the image spans
    ``[0, image_width] x [0, image_height]``), so boxes map exactly.
    """

    def __init__(
        self,
        scale_x: float,
        scale_y: float,
        offset_x: float,
        offset_y: float,
        image_width: int,
        image_height: int,
    ) -> None:
        """Builds a transform by hand (``preprocess`` returns the one it used).

        Raises:
            InvalidArgumentError: a scale is not positive and finite, an offset is not
                finite, or an image size is negative.
        """

    @property
    def scale_x(self) -> float:
        """Tensor pixels per image pixel along x."""

    @property
    def scale_y(self) -> float:
        """Tensor pixels per image pixel along y."""

    @property
    def offset_x(self) -> float:
        """Tensor pixels of padding left of the image."""

    @property
    def offset_y(self) -> float:
        """Tensor pixels of padding above the image."""

    @property
    def image_width(self) -> int:
        """Width of the source image in pixels."""

    @property
    def image_height(self) -> int:
        """Height of the source image in pixels."""

    @property
    def matrix(self) -> npt.NDArray[np.float64]:
        """The 2x3 affine matrix image -> tensor, ``[[sx, 0, ox], [0, sy, oy]]``."""

    def to_image_points(self, points: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """Maps tensor-space points back to the image (not clipped).

        Args:
            points: (N, 2) array of (x, y).

        Returns:
            (N, 2) array, float32 if ``points`` is float32, otherwise float64.

        Raises:
            InvalidArgumentError: ``points`` is not an (N, 2) numeric array.
        """

    def to_image_boxes(self, boxes: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """Maps tensor-space xyxy boxes back to the image, clipped to the image.

        Args:
            boxes: (N, 4) array of (x1, y1, x2, y2).

        Returns:
            (N, 4) array, float32 if ``boxes`` is float32, otherwise float64.

        Raises:
            InvalidArgumentError: ``boxes`` is not an (N, 4) numeric array.
        """

def preprocess(
    image: npt.NDArray[np.uint8],
    size: tuple[int, int],
    policy: str = "letterbox",
    color: str = "RGB",
    mean: Sequence[float] = (123.675, 116.28, 103.53),
    std: Sequence[float] = (58.395, 57.12, 57.375),
) -> tuple[npt.NDArray[np.float32], Transform]:
    """Resizes (antialiased bilinear) and normalizes an image; runs without the GIL.

    Args:
        image: uint8 (H, W, 3). Rows with contiguous pixels are read in place at any row
            stride; other layouts are copied first.
        size: output (height, width).
        policy: ``"letterbox"`` (keep aspect ratio, centre, pad with 0 = mean colour) or
            ``"stretch"``.
        color: channel order of ``image``: ``"RGB"`` or ``"BGR"``; the output is RGB.
        mean: per-channel RGB mean in 0..255 units.
        std: per-channel RGB standard deviation in 0..255 units, non-zero.

    Returns:
        ``(tensor, transform)``: float32 (3, height, width) ``(pixel - mean) / std`` and
        the image -> tensor :class:`Transform`.

    Raises:
        ImageError: not a uint8 (H, W, 3) ndarray, or empty.
        InvalidArgumentError: bad size, policy, color, mean or std.
    """

def resize_bilinear(x: npt.NDArray[np.float32], size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Antialiased bilinear resize of the last two axes, equal to
    ``torch.nn.functional.interpolate(x, size, mode="bilinear", align_corners=False,
    antialias=True)``.

    Args:
        x: float32 (C, H, W) or (N, C, H, W); any strides (non-contiguous input is copied).
        size: output (height, width).

    Returns:
        float32 array with the last two axes resized to ``size``.

    Raises:
        InvalidArgumentError: wrong dtype, ndim, an empty spatial size or a bad ``size``.
    """


def transform_for(
    image_size: tuple[int, int],
    size: tuple[int, int],
    policy: str = "letterbox",
) -> Transform:
    """The :class:`Transform` that :func:`preprocess` uses for an image of ``image_size``.

    Args:
        image_size: the image (height, width) in pixels.
        size: the model input (height, width).
        policy: ``"letterbox"`` or ``"stretch"``.

    Raises:
        InvalidArgumentError: non-positive sizes or an unknown policy.
    """

# ----------------------------------------------------------------------------- deform
def ms_deform_sample(
    value: npt.ArrayLike,
    reference_points: npt.ArrayLike,
    offsets: npt.ArrayLike,
    logits: npt.ArrayLike,
    *,
    n_heads: int,
    n_levels: int,
    n_points: int,
    spatial_shapes: Sequence[int],
    isa: str = "auto",
    num_threads: int = 0,
) -> npt.NDArray[np.float32]:
    """The ``ai.argus::MSDeformSample`` node (``docs/custom_ops.md``) in C++.

    Same arguments and result as
    ``argus_edge.export.ms_deform_sample.ms_deform_sample_numpy``; runs without the GIL,
    over (batch x blocks of 32 queries) on ``num_threads`` threads. Inputs are converted to
    C-contiguous float32 (copied when they are not already).

    Args:
        value: (B, S, Dv) projected values, S = sum of h*w over ``spatial_shapes``.
        reference_points: (Q, 2) normalised (x, y) per query.
        offsets: (B, Q, M*L*P*2) sampling offsets in pixels of each level.
        logits: (B, Q, M*L*P) attention logits.
        n_heads, n_levels, n_points: M, L, P.
        spatial_shapes: ``[h0, w0, h1, w1, ...]`` of the value levels.
        isa: ``"auto"`` (``$ARGUS_DEFORM_ISA`` if set, else the best this CPU has),
            ``"scalar"``, ``"avx2"`` or ``"avx512"``.
        num_threads: 0 for ``$ARGUS_NUM_THREADS`` or all cores.

    Returns:
        (B, Q, Dv) float32, the attention-weighted samples, heads concatenated.

    Raises:
        InvalidArgumentError: shapes that disagree with each other or with the attributes,
            bad attributes, or an unknown ``isa``.
        BackendUnavailableError: ``isa`` names an instruction set this build or CPU lacks.
    """

def scaled_deform_attn(
    query: npt.ArrayLike,
    value: npt.ArrayLike,
    reference_points: npt.ArrayLike,
    norm_weight: npt.ArrayLike,
    norm_bias: npt.ArrayLike,
    offset_weight: npt.ArrayLike,
    offset_bias: npt.ArrayLike,
    attn_weight: npt.ArrayLike,
    attn_bias: npt.ArrayLike,
    output_weight: npt.ArrayLike,
    output_bias: npt.ArrayLike,
    gamma: npt.ArrayLike | None = None,
    *,
    n_heads: int,
    n_levels: int,
    n_points: int,
    spatial_shapes: Sequence[int],
    token_scaling: bool = False,
    eps: float = 1e-6,
    isa: str = "auto",
    num_threads: int = 0,
) -> npt.NDArray[np.float32]:
    """The legacy fused ``ai.argus::ScaledDeformAttn`` node (``docs/custom_ops.md``) in C++.

    Same arguments and result as
    ``argus_edge.export.deform_op.scaled_deform_attn_numpy``; runs without the GIL, over
    (batch x blocks of 48 queries) on ``num_threads`` threads. Inputs are converted to
    C-contiguous float32 (copied when they are not already).

    Args:
        query: (B, Q, D) query tokens, unscaled; also the residual.
        value: (B, S, Dv) projected values, S = sum of h*w over ``spatial_shapes``.
        reference_points: (Q, 2) normalised (x, y) per query.
        norm_weight, norm_bias: (D,) query LayerNorm.
        offset_weight, offset_bias: (M*L*P*2, D), (M*L*P*2,) sampling offsets in pixels.
        attn_weight, attn_bias: (M*L*P, D), (M*L*P,) attention logits.
        output_weight, output_bias: (D, Dv), (D,) output projection.
        gamma: (D,) layer scale, or None for 1.
        n_heads, n_levels, n_points: M, L, P.
        spatial_shapes: ``[h0, w0, h1, w1, ...]`` of the value levels.
        token_scaling: Argus token scaling (injectors).
        eps: query LayerNorm epsilon.
        isa: ``"auto"`` (``$ARGUS_DEFORM_ISA`` if set, else the best this CPU has),
            ``"scalar"``, ``"avx2"`` or ``"avx512"``.
        num_threads: 0 for ``$ARGUS_NUM_THREADS`` or all cores.

    Returns:
        (B, Q, D) float32, the updated query tokens.

    Raises:
        InvalidArgumentError: shapes that disagree with each other or with the attributes,
            bad attributes, or an unknown ``isa``.
        BackendUnavailableError: ``isa`` names an instruction set this build or CPU lacks.
    """

def deform_isas() -> list[str]:
    """Instruction sets the deform kernels can use here, ``"scalar"`` first, best last."""

def deform_isa(isa: str = "auto") -> str:
    """The instruction set a request resolves to (``"auto"``: ``$ARGUS_DEFORM_ISA`` if set,
    else the best supported).

    Raises:
        InvalidArgumentError: an unknown name (argument or environment variable).
        BackendUnavailableError: an instruction set this build or CPU lacks.
    """

from os import PathLike  # here, not at the top: this section is appended by the bundle work

class BundleReader:
    """A ``.engine`` bundle opened by the C++ reader (libargus): memory-mapped, read-only.

    Accepts and refuses exactly the files :func:`argus_edge.read_bundle` does, with the
    same messages, except that the manifest is limited to 4 MiB and JSON nesting to 512
    levels. Opening releases the GIL while the file is hashed.
    """

    def __init__(self, path: str | bytes | PathLike[str], verify: bool = True) -> None:
        """Opens and checks a bundle.

        Args:
            path: the ``.engine`` file.
            verify: also check the zero padding and every blob's SHA-256 (reads the whole
                file once). Without it only the header, trailer, manifest and layout are
                checked.

        Raises:
            BundleNotFoundError: the file does not exist.
            BundleError: the file is not a valid bundle; the message says what is wrong.
        """

    @property
    def path(self) -> str:
        """The path as given (``os.fsdecode``)."""

    @property
    def size(self) -> int:
        """The file's size in bytes."""

    @property
    def version(self) -> tuple[int, int]:
        """``(major, minor)`` format version of the file."""

    @property
    def manifest_json(self) -> str:
        """The manifest exactly as stored (UTF-8 JSON text); ``json.loads`` it."""

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the whole file (computed once, without the GIL)."""

    def blob_names(self) -> list[str]:
        """Names of the blobs, in file order."""

    def blob(self, name: str) -> memoryview:
        """A read-only, zero-copy view of blob ``name`` (format ``"B"``).

        The view's buffer is a uint8 numpy array whose base is this reader, so the file
        stays mapped as long as the view (or anything made from it) lives.

        Raises:
            InvalidArgumentError: the bundle has no blob of that name.
        """

    def verify(self) -> None:
        """Checks the zero padding and every blob's SHA-256 again (releases the GIL).

        Raises:
            BundleError: naming the first non-zero padding byte or corrupt blob.
        """


# ---- post-processing kernels (appended by the kernels work) --------------------------
from typing import Protocol  # here, not at the top: this section is appended by the kernels work

class _TransformLike(Protocol):
    """Anything with a :class:`Transform`'s six attributes (``Transform`` itself, the
    training code's ``Letterbox``); read as float32 / int."""

    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float
    image_width: int
    image_height: int

class kernels:
    """The submodule ``argus_edge._core.kernels`` (typed here as a namespace of static
    functions: a ``.pyi`` cannot declare a submodule of an extension module).

    Post-processing, the C++ twins of the numpy references in the training code
    (``training/heads/dense/{postprocess,nms,points,mask_paste,letterbox}.py``,
    ``training/heads/pose_codec.py``) and of the semantic/depth heads' ``predict``. Every
    function converts its arrays to C-contiguous arrays of the dtype it computes in
    (a copy only when needed), runs without the GIL, and raises
    :class:`InvalidArgumentError` (a ``ValueError``) on bad shapes or values.
    """

    @staticmethod
    def sigmoid(x: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Correctly rounded float32 logistic function, any shape (NaN stays NaN).

        Within a few ULP (< 2e-6 relative) of the reference's float32
        ``exp(-logaddexp(0, -x))``, whose rounding depends on numpy's SIMD exp.
        """

    @staticmethod
    def anchor_points(input_hw: tuple[int, int], strides: Sequence[int]) -> npt.NDArray[np.float32]:
        """(N, 2) float32 (x, y) anchor points of the dense head in output order (level-major,
        then row-major), ``((j + 0.5) * s, (i + 0.5) * s)`` in input pixels.

        Raises:
            InvalidArgumentError: a side is not a multiple of a stride.
        """

    @staticmethod
    def decode_boxes(
        points: npt.ArrayLike, ltrb: npt.ArrayLike, input_hw: tuple[int, int]
    ) -> npt.NDArray[np.float32]:
        """(N, 2) points and (N, 4) ltrb distances -> (N, 4) xyxy float32, clipped to
        ``[0, W] x [0, H]`` of the input (inverted boxes are not repaired)."""

    @staticmethod
    def select_candidates(
        scores: npt.ArrayLike, score_threshold: float, topk: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """``(point_index, label, score)`` of the (N, C) (point, class) scores that are
        > ``score_threshold`` (compared in float32), the ``topk`` best (<= 0: all) by
        descending score, ties by the lower flat index ``point * C + class``."""

    @staticmethod
    def nms(
        boxes: npt.ArrayLike,
        scores: npt.ArrayLike,
        labels: npt.ArrayLike | None = None,
        iou_threshold: float = 0.5,
        class_agnostic: bool = False,
        max_detections: int = -1,
        score_threshold: float | None = None,
    ) -> npt.NDArray[np.int64]:
        """Greedy NMS, exactly the reference's ``batched_nms`` (``nms`` when agnostic).

        IoU in float64 (0 when the union is 0: zero-area or inverted boxes never suppress);
        a box is suppressed when IoU > ``iou_threshold`` with a kept box of its label;
        boxes are visited by descending score, ties by lower index, NaN scores last.

        Args:
            boxes: (N, 4) xyxy, any float dtype (computed in float64).
            scores: (N,).
            labels: (N,) integers; None (or ``class_agnostic``) ignores labels.
            iou_threshold: suppression threshold; not NaN.
            class_agnostic: NMS across labels.
            max_detections: keep at most this many (0: none, < 0: all) = ``[:max_detections]``.
            score_threshold: drop scores <= this first (None: keep all).

        Returns:
            int64 indices of the kept boxes, by descending score.
        """

    @staticmethod
    def decode_detections(
        cls_logits: npt.ArrayLike,
        box_ltrb: npt.ArrayLike,
        input_hw: tuple[int, int],
        strides: Sequence[int],
        *,
        score_threshold: float = 0.05,
        iou_threshold: float = 0.6,
        pre_nms_topk: int = 1000,
        max_detections: int = 100,
        class_agnostic: bool = False,
        mask_coeffs: npt.ArrayLike | None = None,
        protos: npt.ArrayLike | None = None,
        mask_threshold: float = 0.5,
        transform: Transform | _TransformLike | None = None,
    ) -> dict[str, np.ndarray]:
        """Detections (and masks) of one image from the dense head's raw outputs: the
        reference's ``postprocess_detections`` (sigmoid, threshold, top-k, box decoding,
        NMS, max detections, letterbox back-mapping, mask assembly and paste).

        Args:
            cls_logits: (N, C) float32 logits, N = number of anchor points.
            box_ltrb: (N, 4) distances in input pixels.
            input_hw: the input tensor's (height, width).
            strides: the head's strides.
            mask_coeffs: (N, K) mask coefficients (``inst``), with ``protos`` (K, H/4, W/4).
            transform: image -> input transform; None: the image is the input.

        Returns:
            ``boxes`` (D, 4) float32 xyxy image pixels, ``scores`` (D,) float32, ``labels``
            (D,) int64 and, with prototypes, ``masks`` (D, image_height, image_width) bool.
        """

    @staticmethod
    def assemble_mask_logits(coeffs: npt.ArrayLike, protos: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """(P, K) coefficients x (K, h, w) prototypes -> (P, h, w) float32 logits (float32
        accumulation: within a few ULP of ``sum |c * proto|`` of numpy's BLAS result)."""

    @staticmethod
    def paste_masks(
        mask_logits: npt.ArrayLike,
        boxes: npt.ArrayLike,
        transform: Transform | _TransformLike,
        mask_threshold: float = 0.5,
    ) -> npt.NDArray[np.bool_]:
        """(P, h, w) prototype-resolution logits -> (P, image_height, image_width) bool
        masks: bilinear samples at image pixel centres inside each (P, 4) image-pixel box,
        > logit(mask_threshold). Bit-exact with the reference given the same logits."""

    @staticmethod
    def semantic_argmax(logits: npt.ArrayLike, size: tuple[int, int]) -> npt.NDArray[np.int32]:
        """Labels = argmax over classes of the logits resized bilinearly to ``size``
        (``F.interpolate(..., align_corners=False)`` then ``argmax``; ties: lowest class).

        Args:
            logits: (C, h, w) or (B, C, h, w) float32.
            size: output (height, width).

        Returns:
            (H, W) or (B, H, W) int32.
        """

    @staticmethod
    def resize_depth(depth: npt.ArrayLike, size: tuple[int, int]) -> npt.NDArray[np.float32]:
        """Bilinear resize (align_corners=False, no antialias) of the last two axes of a
        float32 (..., h, w) array, as the depth head's ``predict``."""

    @staticmethod
    def decode_heatmaps(
        heatmaps: npt.ArrayLike,
        input_size: tuple[int, int],
        warps: npt.ArrayLike | None = None,
        blur_kernel: int = 11,
        refine: bool = True,
        num_threads: int = 1,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """UDP heatmaps -> keypoints: argmax, DARK refinement, UDP map to the crop, inverse
        warp (the reference's ``decode_udp_heatmaps``).

        Args:
            heatmaps: (N, K, h, w) float32, h and w >= 2.
            input_size: crop (height, width) the heatmaps were predicted for, each >= 2.
            warps: (N, 2, 3) image -> crop affines (float64); None: crop pixels.
            blur_kernel: odd DARK blur size.
            refine: False gives integer argmax positions.
            num_threads: threads over people.

        Returns:
            ``(keypoints, scores)``: (N, K, 2) float32 (x, y) and (N, K) float32 map maxima.

        Raises:
            InvalidArgumentError: bad shapes, an even blur kernel or a singular warp.
        """

    @staticmethod
    def fuse_flip_heatmaps(
        heatmaps: npt.ArrayLike, flipped: npt.ArrayLike, flip_index: npt.ArrayLike
    ) -> npt.NDArray[np.float32]:
        """Flip-test fusion ``0.5 * (heatmaps + flipped[:, flip_index, :, ::-1])`` of two
        (N, K, h, w) arrays; ``flip_index`` (K,) must be a permutation."""

# ---- session (csrc/python/register_session.cpp) -------------------------------------

version: str
"""libargus's version (CMake's project version)."""

def backends() -> list[dict[str, Any]]:
    """The backend registry (csrc/backends/registry.h) in ``auto`` order: per backend
    ``name``, ``display_name``, ``build_option``, ``variant_prefix``, ``python_package``,
    ``custom_ops``, ``precision_hints``, ``devices``, ``built_in``, ``unavailable_reason``.
    Read it through :mod:`argus_edge.backends`."""

def decoder_kinds() -> dict[str, list[dict[str, Any]]]:
    """The decoder kinds of this libargus: ``{kind: [{"name", "dtype", "shape"}]}``."""

def register_decoder(
    kind: str,
    results: list[tuple[str, str, list[int | str]]],
    decode: Callable[[dict[str, npt.NDArray[np.float32]], Transform, dict[str, Any]],
                     dict[str, npt.NDArray[Any]]],
) -> None:
    """Registers a decoder kind written in Python for whole-image heads. ``decode`` gets
    one image's head outputs (batch 1), the image -> input Transform and the task's
    description, and returns the declared arrays (exact dtypes). Process-wide; raises
    InvalidArgumentError for a kind already registered."""

def normalize_task(name: str, entry_json: str) -> dict[str, Any]:
    """A manifest task entry as the Session reads it (a format 1.0 entry gets the kind of
    its task key)."""

def failed_gate(manifest_json: str, graph: str, variant: str) -> str:
    """Why ``variant`` of ``graph`` failed its INT8 accuracy gate ('' when it passed or
    records none): the rule the Session applies."""

class Session:
    """argus::Session: one bundle on one backend. Use :class:`argus_edge.Session`."""

    def __init__(
        self,
        path: str | os.PathLike[str] | bytes,
        backend: str = "auto",
        *,
        precision: str = "",
        variant: str = "",
        device: str = "CPU",
        threads: int = 0,
        streams: int = 0,
        extensions: list[str] = ...,
        score_threshold: float = -1.0,
        providers: dict[str, Any] = ...,
        accept_failed_gate: bool = False,
        performance: str = "",
    ) -> None:
        """Opens and verifies a bundle and chooses backend, variants and precision
        (csrc/session/backend_choice.h). ``providers`` maps backend names libargus has no
        engine for to a factory ``(options: dict) -> object`` with
        ``load_graph(graph, variant, blobs: dict[str, memoryview])`` and
        ``run(graph, inputs: dict[str, ndarray]) -> dict[str, ndarray]`` (called with the
        GIL taken; blobs and inputs are read-only views valid during the call), or to a
        string saying why Python cannot provide it.

        Raises:
            BundleNotFoundError, BundleError, BackendUnavailableError, InvalidArgumentError,
            GateFailedError (variants that failed their INT8 gate, not accepted).
        """

    @property
    def backend(self) -> str: ...
    @property
    def choice(self) -> dict[str, Any]:
        """``{"backend", "variant", "precision", "inference_precision", "variants",
        "failed_gate"}``."""
    @property
    def tasks(self) -> list[str]: ...
    @property
    def runnable_tasks(self) -> list[str]: ...
    @property
    def manifest(self) -> dict[str, Any]: ...
    @property
    def format_version(self) -> tuple[int, int]: ...
    def task_info(self, task: str) -> dict[str, Any]:
        """``{"name", "kind", "graph", "backbone", "input_size", "classes", "params",
        "needs", "input", "results", "error"}``."""
    def class_names(self, task: str) -> list[str]: ...
    def check_tasks(self, tasks: str | list[str] | None = None) -> list[str]: ...
    def run_batch(
        self,
        images: list[npt.NDArray[np.uint8]],
        tasks: str | list[str] | None = None,
        color: str | list[str] = "RGB",
    ) -> list[tuple[tuple[int, int], dict[str, tuple[str, dict[str, npt.NDArray[Any]]]]]]:
        """Runs ``tasks`` (None: every task that can run) on (H, W, 3) uint8 images (3
        contiguous bytes per pixel) as one batch, without the GIL. Per image:
        ``((height, width), {task: (kind, {array name: ndarray})})``; the arrays own the
        C++ buffers (no copies).

        Raises:
            ImageError, UnknownTaskError, InvalidArgumentError, BundleError.
        """
    def graph_calls(self) -> dict[str, int]: ...
    def graph_seconds(self) -> dict[str, float]: ...
    def stage_seconds(self) -> dict[str, float]: ...
    @property
    def parallel_requests(self) -> int: ...
    def reset_graph_calls(self) -> None: ...
