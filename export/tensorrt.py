"""ONNX → TensorRT engine (``.plan``), with the Python API or as a ``trtexec`` recipe.

TensorRT engines are specific to the GPU and TensorRT version that build them, so they
are built on (or for) the target. Quantized graphs use explicit quantization: the QDQ
ONNX from ``export/quantize.py`` is parsed as it is and built with the INT8 flag, which
TensorRT needs to pick INT8 kernels for the Q/DQ pairs (no calibrator, no strong typing).

Where the ``tensorrt`` Python package is missing (every machine of this project), use
:func:`trtexec_command` on the target instead: it gives the equivalent ``trtexec`` call.
Graphs with ``ai.argus`` custom nodes would need a TensorRT plugin
loaded in the builder process; the standard-op graphs need nothing.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import onnx

from argus_edge._errors import BackendUnavailableError, InvalidArgumentError

__all__ = ["build_engine", "has_qdq", "trtexec_command"]

_QDQ_OPS = {"QuantizeLinear", "DequantizeLinear"}


def has_qdq(onnx_path: str | Path) -> bool:
    """Whether the graph carries QuantizeLinear / DequantizeLinear nodes."""
    model = onnx.load(str(onnx_path), load_external_data=False)
    return any(n.op_type in _QDQ_OPS for n in model.graph.node)


def _input_shapes(onnx_path: str | Path) -> dict[str, list[int]]:
    """Graph input name → shape, -1 for dynamic dimensions."""
    model = onnx.load(str(onnx_path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    return {v.name: [d.dim_value if d.HasField("dim_value") else -1
                     for d in v.type.tensor_type.shape.dim]
            for v in model.graph.input if v.name not in initializers}


def _profile_shapes(shapes: dict[str, list[int]], batch: int) -> dict[str, tuple[int, ...]]:
    out = {}
    for name, shape in shapes.items():
        if any(d < 0 for d in shape[1:]):
            raise InvalidArgumentError(f"input {name!r} has dynamic dimensions besides the "
                                       f"batch: {shape}; export with a fixed input size")
        out[name] = (batch, *shape[1:]) if shape and shape[0] < 0 else tuple(shape)
    return out


def _check_batches(min_batch: int, opt_batch: int, max_batch: int) -> None:
    if not 1 <= min_batch <= opt_batch <= max_batch:
        raise InvalidArgumentError(f"need 1 <= min_batch <= opt_batch <= max_batch, got "
                                   f"{min_batch}, {opt_batch}, {max_batch}")


def trtexec_command(onnx_path: str | Path, plan_path: str | Path, *, fp16: bool = False,
                    int8: bool = False, min_batch: int = 1, opt_batch: int = 1,
                    max_batch: int = 8, workspace_gb: float = 4.0) -> list[str]:
    """The ``trtexec`` call that builds the same engine as :func:`build_engine`.

    Args:
        onnx_path: the ONNX graph (its input names and shapes are read from it).
        plan_path: the engine file to write.
        fp16: allow FP16 kernels.
        int8: allow INT8 kernels; switched on anyway when the graph has QDQ nodes.
        min_batch, opt_batch, max_batch: the optimisation profile of the batch dimension.
        workspace_gb: builder workspace limit in GiB.

    Returns:
        The argument list (``shlex.join`` it for a shell).

    Raises:
        InvalidArgumentError: bad batch range or inputs with other dynamic dimensions.
    """
    _check_batches(min_batch, opt_batch, max_batch)
    shapes = _input_shapes(onnx_path)
    cmd = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={plan_path}"]
    if int8 or has_qdq(onnx_path):
        cmd.append("--int8")
    if fp16:
        cmd.append("--fp16")
    for flag, batch in (("min", min_batch), ("opt", opt_batch), ("max", max_batch)):
        spec = ",".join(f"{name}:{'x'.join(map(str, shape))}"
                        for name, shape in _profile_shapes(shapes, batch).items())
        cmd.append(f"--{flag}Shapes={spec}")
    cmd.append(f"--memPoolSize=workspace:{int(workspace_gb * 1024)}")  # MiB
    return cmd


def _tensorrt(onnx_path: str | Path, plan_path: str | Path, **kwargs):
    try:
        import tensorrt
    except ImportError as e:
        recipe = shlex.join(trtexec_command(onnx_path, plan_path, **kwargs))
        raise BackendUnavailableError(
            "the tensorrt Python package is not installed, so the engine cannot be built "
            "here; build it on the target GPU with trtexec instead:\n  " + recipe) from e
    return tensorrt


def build_engine(onnx_path: str | Path, plan_path: str | Path, *, fp16: bool = False,
                 int8: bool = False, min_batch: int = 1, opt_batch: int = 1,
                 max_batch: int = 8, workspace_gb: float = 4.0) -> Path:
    """Build a serialized TensorRT engine with the ``tensorrt`` Python API.

    Args:
        onnx_path: the ONNX graph (FP32, or QDQ from quantization).
        plan_path: the engine file to write.
        fp16: allow FP16 kernels.
        int8: allow INT8 kernels; switched on anyway when the graph has QDQ nodes.
        min_batch, opt_batch, max_batch: the optimisation profile of the batch dimension.
        workspace_gb: builder workspace limit in GiB.

    Returns:
        ``plan_path``.

    Raises:
        BackendUnavailableError: ``tensorrt`` is not importable (the message holds the
            equivalent :func:`trtexec_command`).
        InvalidArgumentError: bad batch range or dynamic dimensions besides the batch.
        RuntimeError: TensorRT failed to parse the graph or to build the engine.
    """
    opts = dict(fp16=fp16, int8=int8, min_batch=min_batch, opt_batch=opt_batch,
                max_batch=max_batch, workspace_gb=workspace_gb)
    trt = _tensorrt(onnx_path, plan_path, **opts)
    _check_batches(min_batch, opt_batch, max_batch)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}:\n{errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if int8 or has_qdq(onnx_path):
        config.set_flag(trt.BuilderFlag.INT8)
    config.add_optimization_profile(_profile(trt, builder, network, onnx_path, opts))
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path}")
    plan_path = Path(plan_path)
    plan_path.write_bytes(bytes(plan))
    return plan_path


def _network_flags(trt) -> int:
    # TensorRT 10 networks are always explicit-batch and the flag is deprecated there.
    flag = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    return 0 if flag is None else 1 << int(flag)


def _profile(trt, builder, network, onnx_path, opts):
    profile = builder.create_optimization_profile()
    shapes = _input_shapes(onnx_path)
    per_batch = {b: _profile_shapes(shapes, opts[b]) for b in ("min_batch", "opt_batch",
                                                               "max_batch")}
    for i in range(network.num_inputs):
        name = network.get_input(i).name
        profile.set_shape(name, *(per_batch[b][name] for b in ("min_batch", "opt_batch",
                                                                "max_batch")))
    return profile
