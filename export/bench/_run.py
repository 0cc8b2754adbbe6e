"""The benchmark run: prepare once, then every configuration in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._matrix import ENGINES, IMAGE_TASKS, Engine, TaskSet, engine, task_sets

__all__ = ["BenchOptions", "run_benchmark"]

_WORKER = Path(__file__).with_name("_worker.py")
_MARKER = "ARGUS_BENCH_RESULT"


@dataclass(frozen=True)
class BenchOptions:
    """What to benchmark (see ``argus-edge bench --help``).

    Attributes:
        model: preset name (``argus_tiny`` ... ``argus_large``).
        size: square input side, a multiple of 32.
        tasks: the heads; each alone, then all of them with the backbone once and as
            separate models.
        engines: engine keys (:data:`~._matrix.ENGINES`).
        runs: timed runs per configuration.
        warmup: untimed runs before them.
        threads: intra-op threads of every engine.
        calib: INT8 calibration images.
        seed: weights seed.
        workdir: where the graphs go (kept); None: a temporary folder.
        timeout_s: limit per configuration process.
    """

    model: str = "argus_base"
    size: int = 512
    tasks: Sequence[str] = ("det", "sem", "cls")
    engines: Sequence[str] = tuple(e.key for e in ENGINES)
    runs: int = 10
    warmup: int = 2
    threads: int = 2
    calib: int = 8
    seed: int = 0
    workdir: Path | None = None
    timeout_s: float = 3600.0
    extra: dict[str, Any] = field(default_factory=dict)


def run_benchmark(options: BenchOptions,
                  log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)
                  ) -> dict[str, Any]:
    """Prepare the model and graphs, time every engine × task set, return the results.

    Returns:
        ``{"meta": ..., "gflops": {part: GFLOPs}, "prepare_seconds": ..., "rows": [...]}``
        (rows as :func:`~._report.make_row`), ordered by task set, then engine.

    Raises:
        InvalidArgumentError: unknown preset, task or engine, a size that is not a
            multiple of 32, or a count below its minimum.
    """
    from ._flops import count_gflops
    from ._prepare import build_model, prepare

    engines = _check(options)
    model = build_model(options.model, options.size, options.tasks, options.seed)
    gflops = count_gflops(model, options.size, options.tasks)
    log(f"[bench] {options.model} {options.size}x{options.size}: GFLOPs "
        + ", ".join(f"{k} {v:.1f}" for k, v in gflops.items()))
    with tempfile.TemporaryDirectory(prefix="argus_bench_") as tmp:
        work = Path(options.workdir) if options.workdir else Path(tmp)
        prepared = prepare(model, options.size, options.tasks, engines, options.calib, work, log)
        del model
        peak = _peak(options, log)
        rows = []
        for task_set in task_sets(options.tasks):
            for e in engines:
                rows.append(_with_peak(_measure(e, task_set, prepared, options, gflops, work,
                                                log), e, peak))
    return {"meta": _meta(options), "gflops": gflops, "prepare_seconds": prepared.seconds,
            "peak": peak, "rows": rows}


def _peak(options: BenchOptions, log: Callable[[str], None]) -> dict[str, Any]:
    """The machine's practical peak per precision (:func:`._machine.peak_gflops`)."""
    from ._machine import peak_gflops

    try:
        peak = peak_gflops(options.threads)
    except ImportError as e:
        return {"error": f"{type(e).__name__}: {e}"}
    log("[bench] practical peak (MatMul through OpenVINO): " + ", ".join(
        f"{k} {v['gflops_per_s']:.0f} GFLOP/s ({v['runtime_precision']})" if "gflops_per_s" in v
        else f"{k} {v['error']}" for k, v in peak.items()))
    return peak


def _with_peak(row: dict[str, Any], engine: Engine, peak: dict[str, Any]) -> dict[str, Any]:
    from ._machine import peak_kind

    kind = peak_kind(engine)
    top = peak.get(kind, {}).get("gflops_per_s") if isinstance(peak.get(kind), dict) else None
    row["peak_kind"] = kind
    if top and row.get("gflops_per_s"):
        row["pct_of_peak"] = 100.0 * row["gflops_per_s"] / top
    return row


def _check(options: BenchOptions) -> list[Engine]:
    """The engines of ``options``, after checking every option."""
    from argus_edge import InvalidArgumentError

    from ...training.models import PRESETS

    if options.model not in PRESETS:
        raise InvalidArgumentError(f"unknown model {options.model!r}; presets: {sorted(PRESETS)}")
    if options.size <= 0 or options.size % 32:
        raise InvalidArgumentError(f"size must be a positive multiple of 32, got {options.size}")
    bad_tasks = [t for t in options.tasks if t not in IMAGE_TASKS]
    if bad_tasks or not options.tasks:
        raise InvalidArgumentError(f"tasks must be among {IMAGE_TASKS}, got {list(options.tasks)}")
    for name, low in (("runs", 1), ("warmup", 0), ("threads", 1), ("calib", 1)):
        if getattr(options, name) < low:
            raise InvalidArgumentError(f"{name} must be at least {low}, "
                                       f"got {getattr(options, name)}")
    try:
        return [engine(k) for k in options.engines]
    except KeyError as e:
        raise InvalidArgumentError(str(e.args[0])) from None


def _measure(e: Engine, task_set: TaskSet, prepared, options: BenchOptions,
             gflops: dict[str, float], work: Path, log) -> dict[str, Any]:
    from ._flops import task_set_gflops
    from ._prepare import loads
    from ._report import make_row

    flops = task_set_gflops(gflops, task_set)
    loaded = loads(e) or ""
    missing = prepared.unavailable.get(loaded)
    if missing:
        return make_row(e, task_set, {"status": "unavailable", "error": missing}, flops)
    spec = {"engine": e.to_dict(), "task_set": task_set.to_dict(), "size": options.size,
            "threads": options.threads, "runs": options.runs, "warmup": options.warmup,
            "inputs": str(prepared.inputs), "checkpoint": str(prepared.checkpoint),
            "graphs": prepared.graphs.get(loaded, {}),
            "bundles": prepared.bundles.get(loaded, {})}
    spec_path = work / "specs" / f"{e.key}__{task_set.mode}__{'+'.join(task_set.tasks)}.json"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(json.dumps(spec, indent=1))
    result = _run_worker(spec_path, options, log)
    row = make_row(e, task_set, result, flops)
    if row.get("status") == "ok":
        log(f"[bench] {task_set.name:<34} {e.key:<9} median {row['median_ms']:9.1f} ms  "
            f"p90 {row['p90_ms']:9.1f} ms  peak RSS {row['rss_peak_mb']:7.0f} MB")
    else:
        log(f"[bench] {task_set.name:<34} {e.key:<9} {row['status']}: {row.get('error')}")
    return row


def _run_worker(spec_path: Path, options: BenchOptions, log) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS=str(options.threads))
    extension = _openvino_extension()
    if extension:
        env.setdefault("ARGUS_OPENVINO_EXTENSION", extension)
    try:
        proc = subprocess.run([sys.executable, str(_WORKER), str(spec_path)], env=env,
                              capture_output=True, text=True, timeout=options.timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"timed out after {options.timeout_s:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_MARKER):
            result = json.loads(line[len(_MARKER):])
            if result["status"] == "error":
                log(proc.stderr[-3000:])
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"status": "error", "error": f"worker exited with {proc.returncode}: {tail[0][:300]}"}


def _openvino_extension() -> str | None:
    """The fused-kernel OpenVINO extension: the package's locator, else this checkout's
    ``build/cpp`` (where ``make test-cpp`` builds it)."""
    from argus_edge import BackendUnavailableError
    from argus_edge._extensions import openvino_extension_name, openvino_extension_path

    try:
        return str(openvino_extension_path())
    except BackendUnavailableError:
        dev = Path(__file__).resolve().parents[2] / "build" / "cpp" / openvino_extension_name()
        return str(dev) if dev.is_file() else None


def _packages() -> list[str]:
    """The Python packages of the engines: their backends' and INT8 quantizers'."""
    from argus_edge import backends

    from ._prepare import int8_quantizer

    packages = []
    for e in ENGINES:
        if e.backend is not None:
            packages.append(backends.get(e.backend).python_package)
            int8 = int8_quantizer(e)
            packages += int8.packages if int8 else ()
    return [p for p in dict.fromkeys(packages) if p]


def _meta(options: BenchOptions) -> dict[str, Any]:
    import torch

    versions = {"torch": torch.__version__}
    for name in _packages():
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    from argus_edge import __version__
    versions["argus-edge"] = __version__
    from ._machine import describe, machine_info

    meta = {k: v for k, v in asdict(options).items() if k not in ("workdir", "extra")}
    machine = machine_info()
    meta.update(tasks=list(options.tasks), engines=list(options.engines),
                machine=describe(machine), machine_info=machine,
                versions=", ".join(f"{k} {v}" for k, v in versions.items()),
                batch=1, **options.extra)
    return meta

