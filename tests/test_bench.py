"""``argus-edge bench``: the structure of its JSON, Markdown and chart (never its timings:
speed is only ever reported as ratios measured in one run, see docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

pytest.importorskip("torch")

from argus_edge._cli_bench import BENCH_ENGINES, BENCH_TASKS, add_bench_arguments  # noqa: E402

_ROW_KEYS = {"engine", "engine_label", "precision", "task_set", "tasks", "mode", "runs_what",
             "gflops", "status"}
_TIMED_KEYS = {"times_ms", "median_ms", "p90_ms", "throughput_ips", "rss_peak_mb",
               "gflops_per_s", "load_s"}


def _run(tmp_path: Path, *extra: str) -> tuple[int, dict, str]:
    from argus_edge.export.benchmark import main

    out = tmp_path / "out"
    args = add_bench_arguments(argparse.ArgumentParser()).parse_args(
        ["--model", "argus_tiny", "--size", "64", "--runs", "2", "--warmup", "0",
         "--threads", "1", "--calib", "1", "--out", str(out), *extra])
    code = main(args=args)
    return code, json.loads((out / "bench.json").read_text()), (out / "bench.md").read_text()


def _check_outputs(tmp_path: Path, results: dict, md: str, engines: list[str],
                   tasks: list[str]) -> None:
    sets = [*tasks, f"{'+'.join(tasks)} (backbone once)",
            f"{'+'.join(tasks)} ({len(tasks)} separate models)"]
    rows = results["rows"]
    assert [(r["task_set"], r["engine"]) for r in rows] == [(s, e) for s in sets for e in engines]
    assert set(results["gflops"]) == {"backbone", *tasks}
    assert results["meta"]["model"] == "argus_tiny" and results["meta"]["size"] == 64
    for r in rows:
        assert _ROW_KEYS <= set(r)
        if r["status"] != "ok":
            continue
        assert _TIMED_KEYS <= set(r)
        assert len(r["times_ms"]) == 2
        assert r["p90_ms"] >= r["median_ms"] > 0
        assert r["throughput_ips"] == pytest.approx(1000 / r["median_ms"])
        assert r["gflops_per_s"] == pytest.approx(r["gflops"] / (r["median_ms"] / 1e3), rel=1e-2)
        assert r["rss_peak_mb"] >= r["rss_loaded_mb"] > 0
    # separate models do the backbone's work once per task
    by_set = {r["task_set"]: r["gflops"] for r in rows}
    gf = results["gflops"]
    assert by_set[sets[-1]] == pytest.approx(len(tasks) * gf["backbone"]
                                             + sum(gf[t] for t in tasks), rel=1e-3)
    assert by_set[sets[-2]] == pytest.approx(gf["backbone"] + sum(gf[t] for t in tasks), rel=1e-3)
    for s in sets:
        assert f"### {s}" in md
    assert "### Backbone once vs separate models" in md
    assert "| engine | precision | median ms | p90 ms | img/s | peak RSS MB |" in md
    png = (tmp_path / "out" / "bench.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_lists_match_the_bench():
    from argus_edge.export.bench import ENGINES, IMAGE_TASKS

    assert BENCH_ENGINES == tuple(e.key for e in ENGINES)
    assert BENCH_TASKS == IMAGE_TASKS


def test_engines_name_backends_of_the_registry():
    from argus_edge import backends
    from argus_edge.export.bench import ENGINES
    from argus_edge.export.bench._prepare import loads

    assert all(backends.get(e.backend) for e in ENGINES if e.backend is not None)
    assert {e.key: loads(e) for e in ENGINES} == {
        "torch": None, "ort-fp32": "onnx-fp32", "ort-int8": "onnxruntime-int8",
        "ov-f32": "openvino-fp32", "ov-bf16": "openvino-fp32", "ov-int8": "openvino-int8",
        "session": "bundle", "session-bf16": "bundle", "session-int8": "bundle-int8",
        "session-tput": "bundle"}
    sessions = {e.key: e.session_precision for e in ENGINES if e.runtime == "session"}
    assert sessions == {"session": "fp32", "session-bf16": "bf16", "session-int8": "int8",
                        "session-tput": "fp32"}


def test_quick_and_explicit_counts():
    from argus_edge._cli_bench import resolve_counts

    p = add_bench_arguments(argparse.ArgumentParser())
    assert resolve_counts(p.parse_args([])) == {"runs": 10, "warmup": 2, "calib": 8}
    assert resolve_counts(p.parse_args(["--quick"])) == {"runs": 3, "warmup": 1, "calib": 2}
    assert resolve_counts(p.parse_args(["--quick", "--runs", "5"]))["runs"] == 5


def test_report_renders_unavailable_and_failed_rows(tmp_path):
    from argus_edge.export.bench import ENGINES, TaskSet, markdown, write_outputs
    from argus_edge.export.bench._report import make_row

    single, shared, separate = (TaskSet(("det",), "single"), TaskSet(("det", "cls"), "shared"),
                                TaskSet(("det", "cls"), "separate"))
    ok = lambda ms, rss: {"status": "ok", "times_ms": ms, "rss_peak_mb": rss,  # noqa: E731
                          "rss_loaded_mb": rss / 2, "load_s": 0.1}
    torch_e, ort_e = ENGINES[0], ENGINES[1]
    session_e = next(e for e in ENGINES if e.key == "session")
    rows = [make_row(torch_e, single, ok([4.0, 2.0, 3.0], 300), 1.0),
            make_row(ort_e, single, ok([1.0, 1.5, 1.0], 100), 1.0),
            make_row(session_e, single, {"status": "unavailable", "error": "no extension"}, 1.0),
            make_row(ort_e, shared, ok([2.0], 120), 1.5),
            make_row(ort_e, separate, ok([3.0], 200), 2.5)]
    assert rows[0]["median_ms"] == 3.0 and rows[0]["p90_ms"] == 4.0
    assert rows[1]["median_ms"] == 1.0 and rows[1]["p90_ms"] == 1.5
    assert rows[3]["gflops_per_s"] == pytest.approx(750.0)
    results = {"meta": {"model": "m", "size": 64, "threads": 1, "runs": 3, "warmup": 0,
                        "machine": "x", "versions": "y"}, "gflops": {}, "rows": rows}
    md = markdown(results)
    assert "| argus-edge Session | FP32 IR + deform kernel | unavailable: no extension |" in md
    # no peak measured here: "% of peak" is "–"
    assert "| ONNX Runtime | FP32 | 1.0 | 1.5 | 1,000.00 | 100 | 1.0 | 1,000.0 | – | 3.00× |" in md
    assert "| ONNX Runtime | FP32 | 2.0 | 3.0 | 1.50× | 120 | 200 | 1.67× |" in md
    paths = write_outputs(results, tmp_path)
    assert json.loads(paths["json"].read_text())["rows"][2]["status"] == "unavailable"
    assert paths["chart"].stat().st_size > 0


def test_report_compares_the_best_session_with_the_raw_engines():
    from argus_edge.export.bench import TaskSet, markdown
    from argus_edge.export.bench._matrix import engine
    from argus_edge.export.bench._report import make_row

    shared = TaskSet(("det", "cls"), "shared")
    ok = lambda ms, rss, **extra: {"status": "ok", "times_ms": [ms], "rss_peak_mb": rss,  # noqa: E731
                                   **extra}
    rows = [make_row(engine("torch"), shared, ok(40.0, 900), 1.0),
            make_row(engine("ov-f32"), shared, ok(20.0, 500), 1.0),
            make_row(engine("ov-int8"), shared, ok(10.0, 300), 1.0),
            make_row(engine("session"), shared, ok(16.0, 450), 1.0),
            make_row(engine("session-int8"), shared,
                     ok(8.0, 280, stage_ms={"decode": 0.4}, failed_gate="x; y"), 1.0),
            make_row(engine("session-tput"), shared, ok(4.0, 600, images_per_step=1), 1.0)]
    rows[-1]["images_per_step"] = 4  # a throughput row is not a latency candidate
    md = markdown({"meta": {"model": "m", "size": 64, "threads": 1, "runs": 1, "warmup": 0,
                            "machine": "x", "versions": "y"}, "gflops": {}, "rows": rows})
    assert ("| det+cls (backbone once) | INT8 (NNCF) + deform kernel | 8.0 | 5.00× "
            "| OpenVINO INT8 (NNCF) | 10.0 | 1.25× | 280 | 300 | 5.0 % |") in md
    assert "INT8 (NNCF) + deform kernel (INT8 gate FAILED, see below)" in md
    assert "accept_failed_gate): x" in md


def test_bench_pytorch_rows(tmp_path):
    """End to end on PyTorch only (no export): every row, the JSON / Markdown / PNG."""
    code, results, md = _run(tmp_path, "--engines", "torch", "--tasks", "det", "cls")
    assert code == 0
    assert all(r["status"] == "ok" for r in results["rows"])
    _check_outputs(tmp_path, results, md, ["torch"], ["det", "cls"])
    assert math.isclose(results["rows"][0]["gflops"],
                        results["gflops"]["backbone"] + results["gflops"]["det"], rel_tol=1e-3)


@pytest.mark.slow
@pytest.mark.onnxruntime
@pytest.mark.openvino
def test_bench_every_engine(tmp_path):
    """Every engine, INT8 and the Session included (minutes: exports and quantizes)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("openvino")
    engines = list(BENCH_ENGINES)
    code, results, md = _run(tmp_path, "--engines", *engines, "--tasks", "det", "cls")
    _check_outputs(tmp_path, results, md, engines, ["det", "cls"])
    status = {(r["engine"], r["task_set"]): r["status"] for r in results["rows"]}
    assert all(s == "ok" for (e, _), s in status.items() if not e.startswith("session")), status
    session = [r for r in results["rows"] if r["engine"] == "session"]
    if all(r["status"] == "unavailable" for r in session):
        pytest.skip(f"Session rows unavailable: {session[0]['error']}")
    assert code == 0
    shared = next(r for r in session if r["mode"] == "shared")
    per_image = {g: n / shared["iterations"] for g, n in shared["graph_calls"].items()}
    assert per_image == {"backbone_64x64": 1, "det_64x64": 1, "cls_64x64": 1}
    split = shared["stage_ms"]
    assert set(split) == {"preprocess", "graphs", "decode"} and min(split.values()) >= 0
    assert sum(split.values()) <= shared["median_ms"] * 2  # per image, not the whole run
    assert "Where the Session's time goes" in md
    tput = next(r for r in results["rows"] if r["engine"] == "session-tput"
                and r["mode"] == "shared")
    assert tput["status"] == "ok" and tput["images_per_step"] == 2 * tput["requests_in_flight"]
    assert "amortized" in md


@pytest.mark.parametrize("change", [{"model": "argus_huge"}, {"size": 100}, {"runs": 0},
                                    {"tasks": ("pose",)}, {"engines": ("tensorrt",)}])
def test_bad_options_are_refused_before_any_work(change):
    from argus_edge import InvalidArgumentError
    from argus_edge.export.bench import BenchOptions, run_benchmark

    with pytest.raises(InvalidArgumentError):
        run_benchmark(BenchOptions(**change))


def test_machine_info_and_peak_kinds():
    from argus_edge._bench_engines import ENGINES
    from argus_edge.export.bench._machine import FLAGS, describe, machine_info, peak_kind

    info = machine_info()
    assert info["cpu"] and info["usable_cpus"] >= 1 and set(info["flags"]) <= set(FLAGS)
    assert info["cpu"] in describe(info)
    kinds = {e.key: peak_kind(e) for e in ENGINES}
    assert kinds == {"torch": "f32", "ort-fp32": "f32", "ort-int8": "int8", "ov-f32": "f32",
                     "ov-bf16": "bf16", "ov-int8": "int8", "session": "f32",
                     "session-bf16": "bf16", "session-int8": "int8", "session-tput": "f32"}


@pytest.mark.openvino
def test_peak_is_measured_per_precision():
    pytest.importorskip("openvino")
    from argus_edge.export.bench._machine import peak_gflops
    from argus_edge.export.bench._report import _peak_line

    peak = peak_gflops(threads=1, min_seconds=0.05)
    assert set(peak) == {"f32", "bf16", "int8"}
    assert peak["f32"]["gflops_per_s"] > 0 and peak["f32"]["runtime_precision"] != "?"
    assert "GFLOP/s" in _peak_line(peak) and "not measured" in _peak_line(None)
