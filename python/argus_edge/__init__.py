"""argus-edge: run the Argus multitask vision model on the edge.

The runtime package needs numpy and the compiled core (``argus_edge._core``) only: it
never imports torch. The torch-side code lives in ``argus_edge.training`` and
``argus_edge.export``, which are imported explicitly. The core is imported when first
needed, so that a build without it still imports (and says how to build it when used).
"""

from ._errors import (
    ArgusError,
    BackendUnavailableError,
    BundleError,
    BundleNotFoundError,
    CheckpointError,
    GateFailedError,
    ImageError,
    ImageNotFoundError,
    InvalidArgumentError,
    UnknownTaskError,
)
from ._version import __version__
from ._preprocess import IMAGENET_MEAN, IMAGENET_STD, preprocess
from . import backends
from .bundle import BlobInfo, Bundle, describe, read_bundle, write_bundle
from .results import (
    Classification,
    DepthMap,
    Detections,
    Keypoints,
    Result,
    SegMap,
    TaskArrays,
    register_result,
)
from .session import Session

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ArgusError",
    "BackendUnavailableError",
    "BundleError",
    "CheckpointError",
    "GateFailedError",
    "ImageError",
    "ImageNotFoundError",
    "InvalidArgumentError",
    "UnknownTaskError",
    "__version__",
    "backends",
    "Classification",
    "DepthMap",
    "Detections",
    "Keypoints",
    "Result",
    "SegMap",
    "Session",
    "TaskArrays",
    "register_result",
    "preprocess",
    "BlobInfo",
    "Bundle",
    "BundleNotFoundError",
    "describe",
    "read_bundle",
    "write_bundle",
]
