"""Torch → ONNX: the backbone once, one graph per head, or everything fused.

Every graph is exported with the dynamo exporter at opset 18 for one fixed input size
(the ViT position embedding is resized once, see ``Argus.fix_input_size``) and a dynamic
batch dimension named ``batch``. The exported files are then made clean: node metadata
other than the torch module path (stack traces with local paths) is stripped so that the
bytes depend only on the model,
the weights stay inside the file, and ``onnx.checker`` runs in full.

Graphs (names are fixed; the runtime looks them up):

- backbone: ``images`` (B, 3, H, W) and ``vit_images`` (B, 3, H·14/16, W·14/16) →
  ``f4, f8, f16, f32`` (B, D, H/s, W/s);
- head ``task``: ``f4, f8, f16, f32`` → the head's eval outputs (``head.output_names()``);
- fused: ``images, vit_images`` → ``"{task}.{output}"`` for every requested task.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from argus_edge._errors import InvalidArgumentError, UnknownTaskError

from .conv_transpose import conv_transposes_as_convs
from .deform_op import CUSTOM_TRANSLATION_TABLE, use_custom_deform
from .quantization._graph import STANDARD_DOMAINS, custom_ops

__all__ = [
    "BACKBONE_INPUTS",
    "BACKBONE_OUTPUTS",
    "OPSET",
    "GraphInfo",
    "TensorSpec",
    "export_backbone",
    "export_fused",
    "export_head",
]

OPSET = 18
BACKBONE_INPUTS = ("images", "vit_images")
BACKBONE_OUTPUTS = ("f4", "f8", "f16", "f32")
_STRIDES = (4, 8, 16, 32)
# "custom": one ai.argus::MSDeformSample per attention; "custom-v1": the legacy fused
# ai.argus::ScaledDeformAttn of argus-edge 0.2 (kept to test and measure the bundles that
# hold it; not offered on the command line).
DEFORM_MODES = ("standard", "custom", "custom-v1")
_DEFORM_NODES = {"custom": "sample", "custom-v1": "fused"}
#: node metadata kept in the exported files: the torch module path of each node
_KEPT_NODE_METADATA = frozenset({"pkg.torch.onnx.name_scopes"})

# torch.export specialises sizes 0 and 1: trace with batch 2 so the batch stays symbolic.
_TRACE_BATCH = 2


# ----------------------------------------------------------------------------- GraphInfo
@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output.

    Attributes:
        name: tensor name in the graph.
        shape: dimensions; -1 for the dynamic batch.
        dtype: NumPy dtype name (``"float32"``).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class GraphInfo:
    """What the bundle manifest records about one exported graph.

    Attributes:
        name: graph name (``backbone_512x512``, ``det_512x512``, ``fused_512x512``).
        inputs: the graph inputs, in order.
        outputs: the graph outputs, in order.
        opset: the default-domain opset.
        custom_ops: ``"domain::op_type"`` of custom nodes a backend must provide.
    """

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int = OPSET
    custom_ops: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (lists, ints and strings only)."""
        return {"name": self.name, "opset": self.opset,
                "inputs": [t.to_dict() for t in self.inputs],
                "outputs": [t.to_dict() for t in self.outputs],
                "custom_ops": list(self.custom_ops)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GraphInfo:
        """Inverse of :meth:`to_dict`."""
        spec = lambda t: TensorSpec(t["name"], tuple(t["shape"]), t["dtype"])  # noqa: E731
        return cls(name=d["name"], inputs=tuple(spec(t) for t in d["inputs"]),
                   outputs=tuple(spec(t) for t in d["outputs"]), opset=int(d["opset"]),
                   custom_ops=tuple(d.get("custom_ops", ())))

    @classmethod
    def from_onnx(cls, model: onnx.ModelProto, name: str) -> GraphInfo:
        """Read inputs, outputs, opset and custom ops from a loaded ONNX model."""
        opset = next(o.version for o in model.opset_import if o.domain in STANDARD_DOMAINS)
        return cls(name=name, inputs=tuple(_spec(v) for v in model.graph.input),
                   outputs=tuple(_spec(v) for v in model.graph.output), opset=opset,
                   custom_ops=custom_ops(model))


def _spec(value: onnx.ValueInfoProto) -> TensorSpec:
    t = value.type.tensor_type
    shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
    dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
    return TensorSpec(value.name, shape, dtype)


# ----------------------------------------------------------------------------- wrappers
class _Backbone(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, vit_images: torch.Tensor):
        return tuple(self.model.forward_features(images, vit_images))


class _Head(nn.Module):
    def __init__(self, head: nn.Module, names: Sequence[str]) -> None:
        super().__init__()
        self.head, self.names = head, list(names)

    def forward(self, f4: torch.Tensor, f8: torch.Tensor, f16: torch.Tensor,
                f32: torch.Tensor):
        out = self.head([f4, f8, f16, f32])
        return tuple(out[n] for n in self.names)


class _Fused(nn.Module):
    def __init__(self, model: nn.Module, outputs: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.model, self.outputs = model, list(outputs)

    def forward(self, images: torch.Tensor, vit_images: torch.Tensor):
        feats = self.model.forward_features(images, vit_images)
        tasks = list(dict.fromkeys(t for t, _ in self.outputs))
        results = {t: self.model.heads[t](feats) for t in tasks}
        return tuple(results[t][name] for t, name in self.outputs)


# ----------------------------------------------------------------------------- public API
def export_backbone(model: nn.Module, input_size: tuple[int, int], path: str | Path, *,
                    deform: str = "standard") -> GraphInfo:
    """Export ``Argus.forward_features`` at one input size.

    Args:
        model: an :class:`~argus_edge.training.models.Argus` (left as it was found).
        input_size: (H, W) of ``images``, multiples of 32.
        path: the ``.onnx`` file to write.
        deform: ``"standard"`` (GridSample and friends, runs anywhere), ``"custom"``
            (one ``ai.argus::MSDeformSample`` node per injector and extractor attention,
            the projections around it standard ops) or ``"custom-v1"`` (the legacy fused
            ``ai.argus::ScaledDeformAttn`` of argus-edge 0.2).

    Returns:
        The graph's :class:`GraphInfo` (name ``backbone_{H}x{W}``).

    Raises:
        InvalidArgumentError: unknown ``deform`` or an input size that is not a multiple of 32.
    """
    h, w = _check_size(model, input_size)
    with _export_model(model, (h, w), deform) as m:
        _export(_Backbone(m), _image_inputs(m, h, w), path, BACKBONE_INPUTS,
                BACKBONE_OUTPUTS, custom=deform in _DEFORM_NODES)
    return _finalize(path, f"backbone_{h}x{w}")


def export_head(model: nn.Module, task: str, input_size: tuple[int, int],
                path: str | Path) -> GraphInfo:
    """Export one head on the backbone's features for ``input_size``.

    Args:
        model: an Argus model carrying a head for ``task``.
        task: task key (``det``, ``sem``, ...).
        input_size: (H, W) of the backbone input the features come from.
        path: the ``.onnx`` file to write.

    Returns:
        The graph's :class:`GraphInfo` (name ``{task}_{H}x{W}``): inputs ``f4..f32``,
        outputs named as ``head.output_names()``.

    Raises:
        UnknownTaskError: the model has no head for ``task``.
    """
    h, w = _check_size(model, input_size)
    head = _head(model, task)
    d = model.cfg.vit.embed_dim
    gen = torch.Generator().manual_seed(0)
    feats = tuple(torch.randn(_TRACE_BATCH, d, h // s, w // s, generator=gen)
                  .to(_device(head)) for s in _STRIDES)
    with _eval(head):
        names = head.output_names()
        _export(_Head(head, names), feats, path, BACKBONE_OUTPUTS, names)
    return _finalize(path, f"{task}_{h}x{w}")


def export_fused(model: nn.Module, tasks: Sequence[str], input_size: tuple[int, int],
                 path: str | Path, *, deform: str = "standard") -> GraphInfo:
    """Export backbone and heads as one graph.

    Args:
        model: an Argus model.
        tasks: the heads to include, in output order.
        input_size: (H, W) of ``images``, multiples of 32.
        path: the ``.onnx`` file to write.
        deform: as in :func:`export_backbone`.

    Returns:
        The graph's :class:`GraphInfo` (name ``fused_{H}x{W}``); outputs are named
        ``"{task}.{output}"``.

    Raises:
        UnknownTaskError: a task the model has no head for.
        InvalidArgumentError: no tasks, repeated tasks, or as :func:`export_backbone`.
    """
    h, w = _check_size(model, input_size)
    tasks = list(tasks)
    if not tasks or len(set(tasks)) != len(tasks):
        raise InvalidArgumentError(f"tasks must be a non-empty list of distinct keys, got {tasks}")
    outputs = [(t, n) for t in tasks for n in _head(model, t).output_names()]
    with _export_model(model, (h, w), deform) as m:
        _export(_Fused(m, outputs), _image_inputs(m, h, w), path, BACKBONE_INPUTS,
                [f"{t}.{n}" for t, n in outputs], custom=deform in _DEFORM_NODES)
    return _finalize(path, f"fused_{h}x{w}")


# ----------------------------------------------------------------------------- helpers
def _check_size(model: nn.Module, input_size: tuple[int, int]) -> tuple[int, int]:
    h, w = (int(v) for v in input_size)
    try:
        model.cfg.vit_input_size(h, w)
    except ValueError as e:
        raise InvalidArgumentError(str(e)) from None
    return h, w


def _head(model: nn.Module, task: str) -> nn.Module:
    if task not in model.heads:
        raise UnknownTaskError(f"model has no head for task {task!r}; it has {list(model.heads)}")
    return model.heads[task]


@contextlib.contextmanager
def _eval(module: nn.Module) -> Iterator[nn.Module]:
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@contextlib.contextmanager
def _export_model(model: nn.Module, size: tuple[int, int], deform: str) -> Iterator[nn.Module]:
    """The model in eval mode with the pos-embed fixed and its ConvTransposes as
    convolutions (:mod:`.conv_transpose`); the caller's state comes back."""
    if deform not in DEFORM_MODES:
        raise InvalidArgumentError(f"deform must be one of {DEFORM_MODES}, got {deform!r}")
    if deform in _DEFORM_NODES:
        model = use_custom_deform(model, _DEFORM_NODES[deform])  # a copy: nothing to restore
    vit = model.vit
    grid = vit.fixed_grid
    with _eval(model), conv_transposes_as_convs(model):
        model.fix_input_size(*size)
        try:
            yield model
        finally:
            if grid is None:
                vit.release_input_size()
            else:
                vit.fix_input_size(grid[0] * vit.patch_size, grid[1] * vit.patch_size)


def _image_inputs(model: nn.Module, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(_TRACE_BATCH, 3, h, w, generator=gen)
    vit_images = torch.randn(_TRACE_BATCH, 3, *model.cfg.vit_input_size(h, w), generator=gen)
    return images.to(_device(model)), vit_images.to(_device(model))


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _export(module: nn.Module, args: tuple[torch.Tensor, ...], path: str | Path,
            input_names: Sequence[str], output_names: Sequence[str], *,
            custom: bool = False) -> None:
    batch = torch.export.Dim("batch", min=1)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    module.eval()
    with warnings.catch_warnings(), torch.no_grad():
        # one Dim shared by several inputs: the exporter notes it keeps a single name
        warnings.filterwarnings("ignore", message=".*axis name.*")
        torch.onnx.export(
            module, args, str(path), dynamo=True, opset_version=OPSET, verbose=False,
            input_names=list(input_names), output_names=list(output_names),
            dynamic_shapes=tuple({0: batch} for _ in args), external_data=False,
            custom_translation_table=CUSTOM_TRANSLATION_TABLE if custom else None)


def _finalize(path: str | Path, name: str) -> GraphInfo:
    """Strip per-node metadata and doc strings, name the graph, check, save in one file."""
    model = onnx.load(str(path))
    model.graph.name = name
    model.doc_string = ""
    for node in model.graph.node:
        # keep the torch module path (the quantizer names layers by it); drop the rest
        # (stack traces with local file paths)
        keep = [(p.key, p.value) for p in node.metadata_props if p.key in _KEPT_NODE_METADATA]
        del node.metadata_props[:]
        for key, value in keep:
            node.metadata_props.add(key=key, value=value)
        node.doc_string = ""
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        del value.metadata_props[:]
    for init in model.graph.initializer:
        del init.metadata_props[:]
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(path), save_as_external_data=False)
    return GraphInfo.from_onnx(model, name)
