"""One benchmark configuration (engine × precision × task set), timed in its own process.

Run as a script, ``python _worker.py SPEC.json``, by :mod:`._run`: it never imports
torch unless the engine is PyTorch, so the peak RSS it reports is the engine's, the
models' and the activations' (plus Python and numpy). It prints one line
``ARGUS_BENCH_RESULT {json}`` with the per-run latencies, the RSS and what the engine
reported about itself.

Peak RSS is read from ``/proc/self/status`` (``VmHWM``): ``ru_maxrss`` of a process
started by fork/vfork + exec also counts the parent's RSS at the time of the exec.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

MARKER = "ARGUS_BENCH_RESULT"
_AFTER = "_after"  # info key of a callable whose dict is added to the result after timing
_WARM = "_warm"  # info key of a callable run after the warm-up, before timing

#: loader(spec) -> (load({role: file}) -> run(feeds) -> outputs, info), by backend name
GraphLoader = Callable[[dict], tuple[Callable[[dict], Callable], dict]]
_GRAPH_LOADERS: dict[str, GraphLoader] = {}


def _graph_loader(backend: str) -> Callable[[GraphLoader], GraphLoader]:
    """Registers how the benchmark loads ``backend``'s graphs (a backend registry name):
    from the graph's files by role, with the engine settings the benchmark times."""
    def wrap(loader: GraphLoader) -> GraphLoader:
        _GRAPH_LOADERS[backend] = loader
        return loader
    return wrap


def _memory_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB (10^6 bytes)."""
    try:
        fields = dict(line.split(":", 1) for line in
                      Path("/proc/self/status").read_text().splitlines() if ":" in line)
        kb = lambda k: int(fields[k].split()[0])  # noqa: E731
        return kb("VmRSS") * 1024 / 1e6, kb("VmHWM") * 1024 / 1e6
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6
        return float("nan"), peak_mb


# ----------------------------------------------------------------------------- engines
@_graph_loader("onnxruntime")
def _onnxruntime(spec: dict) -> tuple[Callable[[dict], Callable], dict]:
    import onnxruntime as ort

    def load(files: dict):
        so = ort.SessionOptions()
        so.intra_op_num_threads = spec["threads"]
        so.inter_op_num_threads = 1
        so.log_severity_level = 3  # QDQ graphs make ORT list every folded initializer
        sess = ort.InferenceSession(files["model"], so, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        return lambda feeds: dict(zip(names, sess.run(names, feeds)))

    return load, {"engine_version": ort.__version__, "exec_precision": spec["engine"]["precision"]}


@_graph_loader("openvino")
def _openvino(spec: dict) -> tuple[Callable[[dict], Callable], dict]:
    import openvino as ov

    core, hint, info = ov.Core(), spec["engine"]["hint"], {"engine_version": ov.__version__}
    config: dict[str, Any] = {"INFERENCE_NUM_THREADS": spec["threads"],
                              "PERFORMANCE_HINT": "LATENCY"}
    if hint:
        config["INFERENCE_PRECISION_HINT"] = hint

    def load(files: dict):
        compiled = core.compile_model(core.read_model(files["xml"], files["bin"]), "CPU", config)
        # what the plugin will really use for the float parts (bf16 hints are ignored
        # on CPUs without bf16 support; the default is bf16 on CPUs that have it)
        used = compiled.get_property("INFERENCE_PRECISION_HINT")
        used = used.to_string() if hasattr(used, "to_string") else str(used)
        info["exec_precision"] = f"float parts: {used}"
        request = compiled.create_infer_request()
        names = [p.get_any_name() for p in compiled.outputs]
        ports = list(compiled.outputs)

        def run(feeds):
            res = request.infer(feeds)
            return {n: res[p] for n, p in zip(names, ports)}

        return run

    return load, info


def _graph_step(spec: dict, inputs: dict[str, np.ndarray]) -> tuple[Callable[[], None], dict]:
    """Backbone → heads on a graph engine; ``separate`` loads one backbone per task."""
    backend = spec["engine"]["backend"]
    if backend not in _GRAPH_LOADERS:
        raise _Unavailable(f"the benchmark has no graph loader for backend {backend!r}")
    load, info = _GRAPH_LOADERS[backend](spec)
    graphs, tasks = spec["graphs"], spec["task_set"]["tasks"]
    feeds = {"images": inputs["images"], "vit_images": inputs["vit_images"]}
    if spec["task_set"]["mode"] == "separate":
        models = [(load(graphs["backbone"]), load(graphs[t])) for t in tasks]
    else:
        backbone = load(graphs["backbone"])
        models = [(backbone, {t: load(graphs[t]) for t in tasks})]

    def step() -> None:
        for backbone, heads in models:
            feats = backbone(feeds)
            for head in heads.values() if isinstance(heads, dict) else (heads,):
                head(feats)

    return step, info


def _torch_step(spec: dict, inputs: dict[str, np.ndarray]) -> tuple[Callable[[], None], dict]:
    import torch
    from torch import nn

    from argus_edge.training.checkpoint import load_checkpoint

    torch.set_num_threads(spec["threads"])
    size = spec["size"]

    def load(keep: list[str]):
        model = load_checkpoint(spec["checkpoint"]).eval()
        model.heads = nn.ModuleDict({t: model.heads[t] for t in keep})
        model.fix_input_size(size, size)  # position embedding resized once, as exported
        return model

    tasks = spec["task_set"]["tasks"]
    separate = spec["task_set"]["mode"] == "separate"
    models = [load([t]) for t in tasks] if separate else [load(tasks)]
    images = torch.from_numpy(inputs["images"])
    vit_images = torch.from_numpy(inputs["vit_images"])

    def step() -> None:
        with torch.inference_mode():
            for model in models:
                feats = model.forward_features(images, vit_images)
                for head in model.heads.values():
                    head(feats)

    return step, {"engine_version": torch.__version__, "exec_precision": "fp32",
                  "torch_threads": torch.get_num_threads()}


def _session_step(spec: dict, inputs: dict[str, np.ndarray]) -> tuple[Callable[[], None], dict]:
    import argus_edge

    if not hasattr(argus_edge, "Session"):
        raise _Unavailable("argus_edge.Session does not exist in this build")
    image, tasks = inputs["image_u8"], spec["task_set"]["tasks"]
    performance = spec["engine"].get("performance")
    # A benchmark's INT8 bundle is timed whatever its gate said; the row reports the gate.
    open_ = lambda path: argus_edge.Session(  # noqa: E731
        path, backend=spec["engine"]["backend"], threads=spec["threads"],
        performance=performance, precision=spec["engine"]["session_precision"],
        accept_failed_gate=True)
    if spec["task_set"]["mode"] == "separate":
        sessions = [(open_(spec["bundles"][t]), [t]) for t in tasks]
    else:
        sessions = [(open_(spec["bundles"]["all"]), list(tasks))]

    # Throughput: one step streams 2 frames per request in flight through each Session.
    frames = [image] * (2 * sessions[0][0].requests) if performance == "throughput" else None

    def step() -> None:
        for session, wanted in sessions:
            if frames is None:
                session.run(image, tasks=wanted)
            else:
                for _ in session.stream(frames, tasks=wanted):
                    pass

    def stages() -> dict[str, float]:
        total: dict[str, float] = {}
        for session, _ in sessions:
            for stage, s in session.stage_seconds().items():
                total[stage] = total.get(stage, 0.0) + s
        return total

    warm: dict[str, float] = {}

    def after_warmup() -> None:
        warm.update(stages())

    def graph_calls() -> dict[str, Any]:
        """Graph runs of every Session, to show what one image costs (backbone once?), and
        the timed runs' mean ms per image in each stage of Session.run."""
        calls: dict[str, int] = {}
        for session, _ in sessions:
            for graph, n in session.graph_calls().items():
                calls[graph] = calls.get(graph, 0) + n
        runs = max(1, spec["runs"]) * (len(frames) if frames else 1)
        split = {k: (s - warm.get(k, 0.0)) * 1e3 / runs for k, s in stages().items()}
        return {"graph_calls": calls, "stage_ms": split}

    first = sessions[0][0]
    info = getattr(first, "info", {})
    info = info() if callable(info) else info
    return step, {"engine_version": argus_edge.__version__, "session_backend": str(first.backend),
                  "exec_precision": f"float parts: {info.get('inference_precision', '?')}",
                  "images_per_step": len(frames) if frames else 1,
                  "requests_in_flight": sessions[0][0].requests if frames else 1,
                  "failed_gate": info.get("failed_gate", ""),
                  _WARM: after_warmup, _AFTER: graph_calls}


class _Unavailable(Exception):
    """The configuration cannot run here (missing engine or build); not a failure."""


# ----------------------------------------------------------------------------- main
def measure(spec: dict) -> dict[str, Any]:
    """Load, warm up and time one configuration (see the module docstring)."""
    inputs = dict(np.load(spec["inputs"]))
    rss_start, _ = _memory_mb()
    build = {"torch": _torch_step, "graphs": _graph_step,
             "session": _session_step}[spec["engine"]["runtime"]]
    t0 = time.perf_counter()
    step, info = build(spec, inputs)
    load_s = time.perf_counter() - t0
    rss_loaded, _ = _memory_mb()
    for _ in range(spec["warmup"]):
        step()
    warmed = info.pop(_WARM, None)
    if warmed:
        warmed()
    times = []
    for _ in range(spec["runs"]):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    _, peak = _memory_mb()
    after = info.pop(_AFTER, None)
    return {"status": "ok", "times_ms": times, "load_s": load_s, "rss_start_mb": rss_start,
            "rss_loaded_mb": rss_loaded, "rss_peak_mb": peak, "iterations":
            spec["warmup"] + spec["runs"], **info, **(after() if after else {})}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    try:
        result = measure(spec)
    except _Unavailable as e:
        result = {"status": "unavailable", "error": str(e)}
    except ImportError as e:
        result = {"status": "unavailable", "error": f"{type(e).__name__}: {e}"}
    except Exception as e:  # noqa: BLE001 - reported to the parent as the row's error
        traceback.print_exc()
        result = {"status": "error", "error": f"{type(e).__name__}: {e}"}
    print(MARKER, json.dumps(result), flush=True)
    return 0 if result["status"] != "error" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
