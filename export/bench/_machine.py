"""What machine a benchmark ran on, and the practical peak its rows are measured against.

- :func:`machine_info`: the CPU model, logical and usable CPUs, the instruction-set flags
  that decide which kernels the engines pick (AVX2/FMA, AVX-512, VNNI, bf16, AMX) and the
  frequency.
- :func:`peak_gflops`: a large MatMul through OpenVINO at f32, with the bf16 hint and at
  int8 (FakeQuantize'd inputs: OpenVINO's low-precision path), in GFLOP/s, with the
  precision OpenVINO actually ran it in (a CPU without bf16 or VNNI support runs those
  in f32 or emulates them: the number says what this machine gives, not what it
  advertises).
- :func:`peak_kind`: which of the three a benchmark row is measured against.

Machines differ from day to day (AMD or Intel, with or without bf16 units), so every
benchmark records these in the same run as its rows.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

__all__ = ["FLAGS", "describe", "machine_info", "peak_gflops", "peak_kind"]

#: the /proc/cpuinfo flags recorded (present or not)
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile",
         "amx_bf16", "amx_int8", "asimd", "sve")

#: MatMul sizes of the peak measurement (M = N = K)
PEAK_SIZE = 1024


def machine_info() -> dict[str, Any]:
    """``{"cpu", "logical_cpus", "usable_cpus", "flags": [...], "mhz": {"current", "max"},
    "system"}`` (fields this OS does not expose are None)."""
    cpu, flags, mhz = None, set(), None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name" and cpu is None:
                cpu = value
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
            elif key == "cpu MHz" and mhz is None:
                mhz = float(value)
    except (OSError, ValueError):
        pass
    cpu = cpu or platform.processor() or platform.machine()
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "usable_cpus": _usable_cpus(),
            "flags": [f for f in FLAGS if f in flags],
            "mhz": {"current": mhz, "max": _max_mhz()}, "system": platform.system()}


def describe(info: dict[str, Any]) -> str:
    """One line for reports: model, CPUs, flags, frequency."""
    mhz = info["mhz"]
    freq = ", ".join(f"{k} {v:.0f} MHz" for k, v in mhz.items() if v) or "frequency unknown"
    return (f"{info['cpu']}, {info['usable_cpus']} of {info['logical_cpus']} logical CPUs "
            f"usable, flags {' '.join(info['flags']) or 'none of ' + '/'.join(FLAGS[:4])}, "
            f"{freq}, {info['system']}")


def peak_gflops(threads: int | None = None, min_seconds: float = 0.5) -> dict[str, Any]:
    """The best GFLOP/s of a PEAK_SIZE³ MatMul through OpenVINO's CPU plugin per precision.

    Returns:
        ``{"f32": {"gflops_per_s", "runtime_precision"}, "bf16": ..., "int8": ...}``;
        a precision OpenVINO cannot compile gives ``{"error": ...}``.

    Raises:
        ImportError: openvino is not installed.
    """
    import openvino as ov

    core = ov.Core()
    out = {}
    for kind, hint in (("f32", "f32"), ("bf16", "bf16"), ("int8", None)):
        config = {"INFERENCE_NUM_THREADS": threads or _usable_cpus(),
                  "PERFORMANCE_HINT": "LATENCY"}
        if hint:
            config["INFERENCE_PRECISION_HINT"] = hint
        try:
            compiled = core.compile_model(_matmul_model(kind == "int8"), "CPU", config)
        except RuntimeError as e:  # e.g. a hint this CPU plugin refuses
            out[kind] = {"error": str(e).splitlines()[0]}
            continue
        out[kind] = {"gflops_per_s": _best_gflops(compiled, min_seconds),
                     "runtime_precision": _matmul_precision(compiled)}
    return out


def peak_kind(engine: Any) -> str:
    """``int8``, ``bf16`` or ``f32``: the peak a row of ``engine`` is measured against."""
    if getattr(engine, "graph_precision", None) == "int8":
        return "int8"
    return "bf16" if getattr(engine, "hint", None) == "bf16" else "f32"


def _matmul_model(int8: bool):
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops

    n = PEAK_SIZE
    x = ops.parameter([n, n], np.float32, name="x")
    w = ops.constant(np.random.default_rng(0).uniform(-1, 1, (n, n)).astype(np.float32))
    a, b = x, w
    if int8:  # u8 activations, i8 weights: what NNCF's graphs give OpenVINO
        c = lambda v: ops.constant(np.float32(v))  # noqa: E731
        a = ops.fake_quantize(x, c(0.0), c(1.0), c(0.0), c(1.0), 256)
        b = ops.fake_quantize(w, c(-1.0), c(1.0), c(-1.0), c(1.0), 255)
    return ov.Model([ops.matmul(a, b, False, False)], [x], "peak_matmul")


def _best_gflops(compiled, min_seconds: float) -> float:
    import numpy as np

    request = compiled.create_infer_request()
    x = np.random.default_rng(1).uniform(0, 1, (PEAK_SIZE, PEAK_SIZE)).astype(np.float32)
    for _ in range(3):
        request.infer({0: x})
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        request.infer({0: x})
        best = min(best, time.perf_counter() - t)
    return 2.0 * PEAK_SIZE ** 3 / best / 1e9


def _matmul_precision(compiled) -> str:
    """The precision and kernel OpenVINO ran the MatMul with (``u8 brgemm_avx512_amx_I8``),
    from its runtime model."""
    for op in compiled.get_runtime_model().get_ops():
        info = op.get_rt_info()
        field = lambda k: info[k].astype(str) if k in info else "?"  # noqa: E731
        if field("layerType") in ("MatMul", "FullyConnected"):
            return f"{field('runtimePrecision')} {field('primitiveType')}"
    return "?"


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _max_mhz() -> float | None:
    try:
        khz = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text()
        return int(khz) / 1000.0
    except (OSError, ValueError):
        return None
