"""The benchmark's outputs: one row per configuration, as JSON, Markdown and a PNG chart."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._matrix import Engine, TaskSet

__all__ = ["make_row", "markdown", "plot", "write_outputs"]


def _p90(times: Sequence[float]) -> float:
    """Nearest-rank 90th percentile (an observed latency)."""
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def make_row(engine: Engine, task_set: TaskSet, result: dict[str, Any],
             gflops: float) -> dict[str, Any]:
    """One table row from a worker's result (``status`` ok, unavailable or error)."""
    row: dict[str, Any] = {
        "engine": engine.key, "engine_label": engine.label, "precision": engine.precision,
        "runtime": engine.runtime, "backend": engine.backend,
        "graph_precision": engine.graph_precision, "hint": engine.hint,
        "performance": engine.performance,
        "task_set": task_set.name, "tasks": list(task_set.tasks), "mode": task_set.mode,
        "runs_what": task_set.describe(engine.runtime), "gflops": gflops,
        **result,
    }
    times = result.get("times_ms")
    if result.get("status") == "ok" and times:
        # Throughput rows time a step of several images: per image, amortized.
        per = result.get("images_per_step", 1)
        median = statistics.median(times) / per
        row.update(median_ms=median, p90_ms=_p90(times) / per, min_ms=min(times) / per,
                   throughput_ips=1000.0 / median, gflops_per_s=gflops / (median / 1e3))
    return row


# ----------------------------------------------------------------------------- Markdown
def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _baseline(rows: list[dict]) -> str | None:
    ok = [r["engine"] for r in rows if r.get("status") == "ok"]
    return "torch" if "torch" in ok else (ok[0] if ok else None)


def _task_set_table(rows: list[dict], baseline: str | None) -> list[str]:
    base = next((r["median_ms"] for r in rows if r["engine"] == baseline
                 and r.get("status") == "ok"), None)
    base_label = next((f"{r['engine_label']} {r['precision']}" for r in rows
                       if r["engine"] == baseline), "")
    lines = [f"| engine | precision | median ms | p90 ms | img/s | peak RSS MB | GFLOPs "
             f"| GFLOP/s | % of peak | × vs {base_label} |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r['engine_label']} | {r['precision']} | {r.get('status')}: "
                         f"{r.get('error', '')} | | | | | | | |")
            continue
        pct = (f"{r['pct_of_peak']:.0f} % ({r['peak_kind']})" if r.get("pct_of_peak")
               else "–")
        ratio = f"{base / r['median_ms']:.2f}×" if base else "–"
        gate = " (INT8 gate FAILED, see below)" if r.get("failed_gate") else ""
        lines.append(
            f"| {r['engine_label']} | {r['precision']}{gate} | {_fmt(r['median_ms'])} "
            f"| {_fmt(r['p90_ms'])} | {_fmt(r['throughput_ips'], 2)} "
            f"| {_fmt(r['rss_peak_mb'], 0)} | {_fmt(r['gflops'])} "
            f"| {_fmt(r['gflops_per_s'])} | {pct} | {ratio} |")
    return lines


def _peak_line(peak: dict[str, Any] | None) -> str:
    """The measured peak, for the report's header."""
    if not peak or "error" in peak:
        return "Practical peak: not measured" + (f" ({peak['error']})" if peak else "") + "."
    parts = [f"{k} {v['gflops_per_s']:,.0f} GFLOP/s (ran as {v['runtime_precision']})"
             if "gflops_per_s" in v else f"{k}: {v.get('error', 'n/a')}" for k, v in peak.items()]
    return ("Practical peak, measured in this run (a 1024³ MatMul through OpenVINO; "
            "% of peak compares each row with its precision's): " + "; ".join(parts) + ".")


def _sharing_table(rows: list[dict]) -> list[str]:
    """Backbone once vs separate models, per engine (both measured in this run)."""
    pairs = {}
    for r in rows:
        if r["mode"] in ("shared", "separate") and r.get("status") == "ok":
            pairs.setdefault(r["engine"], {})[r["mode"]] = r
    lines = ["| engine | precision | backbone once ms | separate models ms | speed-up "
             "| peak RSS once MB | peak RSS separate MB | RSS ratio |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for pair in pairs.values():
        if len(pair) < 2:
            continue
        once, sep = pair["shared"], pair["separate"]
        lines.append(
            f"| {once['engine_label']} | {once['precision']} | {_fmt(once['median_ms'])} "
            f"| {_fmt(sep['median_ms'])} | {sep['median_ms'] / once['median_ms']:.2f}× "
            f"| {_fmt(once['rss_peak_mb'], 0)} | {_fmt(sep['rss_peak_mb'], 0)} "
            f"| {sep['rss_peak_mb'] / once['rss_peak_mb']:.2f}× |")
    return lines if len(lines) > 2 else []


def markdown(results: dict[str, Any]) -> str:
    """The Markdown report: settings, one table per task set, backbone sharing, legend."""
    meta, rows = results["meta"], results["rows"]
    baseline = _baseline(rows)
    out = [f"## {meta['model']}, {meta['size']}×{meta['size']}", "",
           f"Batch 1, {meta['threads']} threads, random weights, one photo; median and p90 "
           f"(nearest rank) of {meta['runs']} runs after {meta['warmup']} warm-up runs, each "
           f"row in its own process. img/s = 1000 / median (batch 1). Peak RSS: the whole "
           f"process (Python, engine, models, activations). Machine: {meta['machine']}. "
           f"Versions: {meta['versions']}.", "", _peak_line(results.get("peak")), ""]
    for name in dict.fromkeys(r["task_set"] for r in rows):
        group = [r for r in rows if r["task_set"] == name]
        out += [f"### {name}", "", *_task_set_table(group, baseline), ""]
    sharing = _sharing_table(rows)
    if sharing:
        out += ["### Backbone once vs separate models", "",
                "speed-up = separate / backbone once (> 1: sharing the backbone is faster).",
                "", *sharing, ""]
    out += ["### What each row runs", ""]
    legend = {(r["task_set"], r.get("runtime") == "session"): r["runs_what"] for r in rows}
    for (name, session), what in legend.items():
        out.append(f"- {name}{' (Session)' if session else ''}: {what}")
    verdict = _session_lines(rows)
    if verdict:
        out += ["", "### The Session against the engines it wraps", "",
                "Per task set: the fastest Session row at latency settings (one image per "
                "call, the whole `Session.run` call), PyTorch eager, the fastest raw-graph "
                "row (backbone and head graphs called directly, no preprocessing or "
                "decoding), and peak RSS against the raw OpenVINO row of the same graph "
                "precision and hint.", "",
                "| task set | fastest Session | ms | × PyTorch eager | fastest raw graphs | ms "
                "| Session / raw speed | Session RSS MB | raw OpenVINO RSS MB (same precision) "
                "| decode % |",
                "|---|---|---:|---:|---|---:|---:|---:|---:|---:|", *verdict]
    split = _stage_lines(rows)
    if split:
        out += ["", "### Where the Session's time goes", "",
                "Mean ms per image in each stage of `Session.run` over the timed runs "
                "(`Session.stage_seconds`): preprocess (letterbox, normalization, ViT "
                "rescale), graphs (the backend), decode (decoding, pose crops, result arrays); "
                "the rest of the median is Python (image conversion, result objects).", "",
                "| task set | precision | median ms | preprocess | graphs | decode | decode % |",
                "|---|---|---|---|---|---|---|", *split]
    if any(r.get("images_per_step", 1) > 1 for r in rows):
        out += ["", "Throughput rows stream frames through a Session with "
                "performance=\"throughput\" (OpenVINO's THROUGHPUT hint; as many requests in "
                "flight as streams): their ms are per image, amortized (1000 / img/s), "
                "not one image's latency."]
    gates = dict.fromkeys(r["failed_gate"].split("; ")[0] for r in rows if r.get("failed_gate"))
    if gates:
        out += ["", "INT8 gate FAILED on the rows marked so (random weights; the bundle was "
                "timed anyway and records the failure, which a Session refuses unless told "
                "accept_failed_gate): " + " | ".join(gates)]
    precisions = {f"{r['engine_label']} {r['precision']}": r["exec_precision"]
                  for r in rows if r.get("exec_precision") and r["engine"].startswith("ov")}
    if precisions:
        out += ["", "OpenVINO's reported inference precision: "
                + "; ".join(f"{k}: {v}" for k, v in precisions.items()) + "."]
    return "\n".join(out) + "\n"


def _session_lines(rows: list[dict]) -> list[str]:
    """One line per task set with a Session row: see :func:`markdown`'s section."""
    ok = [r for r in rows if r.get("status") == "ok"]
    lines = []
    for name in dict.fromkeys(r["task_set"] for r in ok):
        group = [r for r in ok if r["task_set"] == name]
        sessions = [r for r in group if r.get("runtime") == "session"
                    and r.get("images_per_step", 1) == 1]
        raw = [r for r in group if r.get("runtime") == "graphs"]
        torch = next((r for r in group if r.get("runtime") == "torch"), None)
        if not sessions:
            continue
        best = min(sessions, key=lambda r: r["median_ms"])
        fastest = min(raw, key=lambda r: r["median_ms"]) if raw else None
        twin = next((r for r in raw if r.get("backend") == best.get("backend")
                     and r.get("graph_precision") == best.get("graph_precision")
                     and r.get("hint") == best.get("hint")), None)
        decode = (best.get("stage_ms") or {}).get("decode")
        lines.append(
            f"| {name} | {best['precision']} | {_fmt(best['median_ms'])} "
            f"| {_ratio(torch, best)} "
            f"| {fastest['engine_label'] + ' ' + fastest['precision'] if fastest else '–'} "
            f"| {_fmt(fastest['median_ms']) if fastest else '–'} | {_ratio(fastest, best)} "
            f"| {_fmt(best.get('rss_peak_mb'), 0)} "
            f"| {_fmt(twin.get('rss_peak_mb'), 0) if twin else '–'} "
            f"| {_fmt(100.0 * decode / best['median_ms']) + ' %' if decode is not None else '–'} |")
    return lines


def _ratio(slower: dict | None, faster: dict) -> str:
    """``slower``'s median over ``faster``'s, as ``1.23×`` (– when there is none)."""
    return f"{slower['median_ms'] / faster['median_ms']:.2f}×" if slower else "–"


def _stage_lines(rows: list[dict]) -> list[str]:
    lines = []
    for r in rows:
        split = r.get("stage_ms")
        if not split or r.get("median_ms") is None:
            continue
        share = 100.0 * split.get("decode", 0.0) / r["median_ms"]
        lines.append(f"| {r['task_set']} | {r['precision']} | {_fmt(r['median_ms'])} "
                     f"| {_fmt(split.get('preprocess'), 2)} | {_fmt(split.get('graphs'), 2)} "
                     f"| {_fmt(split.get('decode'), 2)} | {share:.1f} % |")
    return lines


# ----------------------------------------------------------------------------- chart
def plot(results: dict[str, Any], path: Path) -> Path:
    """Grouped horizontal bars: median latency per engine for each task set, whiskers to
    the p90."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results["rows"] if r.get("status") == "ok"]
    sets = list(dict.fromkeys(r["task_set"] for r in results["rows"]))
    engines = list(dict.fromkeys((r["engine"], f"{r['engine_label']} {r['precision']}")
                                 for r in results["rows"]))
    height = 0.8 / max(1, len(engines))
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.22 * len(sets) * (len(engines) + 1)))
    for i, (key, label) in enumerate(engines):
        ys, med, err = [], [], []
        for j, name in enumerate(sets):
            r = next((r for r in rows if r["engine"] == key and r["task_set"] == name), None)
            if r:
                ys.append(j + (i - (len(engines) - 1) / 2) * height)
                med.append(r["median_ms"])
                err.append(r["p90_ms"] - r["median_ms"])
        ax.barh(ys, med, height=height, xerr=[[0] * len(err), err], label=label, capsize=2)
    latencies = [r["median_ms"] for r in rows]
    if latencies and max(latencies) > 20 * min(latencies):
        ax.set_xscale("log")  # PyTorch eager and INT8 differ by orders of magnitude
    ax.set_yticks(range(len(sets)), sets)
    ax.invert_yaxis()
    ax.set_xlabel("latency per image, ms (bar: median, whisker: p90)")
    meta = results["meta"]
    ax.set_title(f"{meta['model']} {meta['size']}×{meta['size']}, batch 1, "
                 f"{meta['threads']} threads")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_outputs(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """Writes ``bench.json``, ``bench.md`` and ``bench.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "bench.json", "markdown": out / "bench.md", "chart": out / "bench.png"}
    paths["json"].write_text(json.dumps(results, indent=1) + "\n")
    paths["markdown"].write_text(markdown(results))
    plot(results, paths["chart"])
    return paths
