"""The human-readable summary of an open bundle that ``argus-edge info`` prints
(``argus_edge.bundle.describe`` opens the file and calls :func:`describe_open`)."""

from __future__ import annotations

import json
from typing import Any

#: what ``info`` says of a format 1.0 bundle
V1_NOTE = ("  format 1.0: its tasks name no decoder kind; this reader gives each the kind of "
           "its task key. Re-export it (argus-edge export CHECKPOINT -o NEW.engine) for a "
           "format 1.1 bundle that declares its kinds, results and needs.")


#: the ViT config fields info shows
_VIT_FIELDS = ("embed_dim", "depth", "num_heads", "patch_size", "num_registers")


def describe_open(bundle: Any) -> str:
    """A human-readable summary of an open :class:`~argus_edge.Bundle`.

    Returns:
        Several lines: format and provenance, model, preprocessing, every task with its
        decoder kind, graph and parameters, every graph with its variants and blob sizes.
    """
    m = bundle.manifest
    lines = [f"{bundle.path.name}: Argus engine bundle, format {bundle.version[0]}."
             f"{bundle.version[1]}, {_human_size(bundle.size)}, {len(bundle.blobs)} blobs",
             f"  created {m['created']} by argus-edge {m['sdk_version']}",
             f"  sha256 {bundle.sha256}",
             *([V1_NOTE] if tuple(bundle.version) < (1, 1) else []),
             f"model: {m['model']['name']}", *_describe_model(m["model"]),
             f"preprocess: {_fields(m['preprocess'])}",
             f"tasks ({len(bundle.tasks)}):"]
    for name, task in bundle.tasks.items():
        lines.extend(_describe_task(name, task))
    lines.append(f"graphs ({len(bundle.graphs)}):")
    manifest_json = json.dumps(m)  # the gate rule's input, made once
    for name, graph in bundle.graphs.items():
        lines.extend(_describe_graph(name, graph, bundle, manifest_json))
    lines.append("provenance:")
    lines.extend(f"  {key}: {_fields(value) if value is not None else 'none'}"
                 for key, value in m["provenance"].items())
    return "\n".join(lines)


def _describe_model(model: dict[str, Any]) -> list[str]:
    config, lines = model["config"], []
    vit, adapter = config.get("vit"), config.get("adapter")
    if isinstance(vit, dict):
        lines.append("  vit: " + _fields({k: vit[k] for k in _VIT_FIELDS if k in vit}))
    if isinstance(adapter, dict) and isinstance(adapter.get("interaction_indexes"), list):
        lines.append(f"  adapter: {len(adapter['interaction_indexes'])} interactions, "
                     f"{adapter.get('extra_extractors', 0)} extra extractors")
    if isinstance(config.get("heads"), dict):
        lines.append(f"  heads: {', '.join(config['heads']) or 'none'}")
    for key in ("params", "parameters", "num_params"):
        if key in model:
            lines.append(f"  parameters: {_fields(model[key])}")
    return lines


def _kind(name: str, task: dict[str, Any]) -> str:
    """The task's decoder kind as the runtime reads it, and whether this build has it."""
    try:
        from ._preprocess import _import_core
        core = _import_core()
    except ImportError:
        return str(task.get("kind", "?"))
    kind = core.normalize_task(name, json.dumps(task))["kind"]
    if not kind:
        return "none (a task key format 1.0 did not have)"
    return kind if kind in core.decoder_kinds() else f"{kind} (not in this argus-edge)"


def _describe_task(name: str, task: dict[str, Any]) -> list[str]:
    parts = [f"graph {task['graph']}"]
    if "backbone" in task:
        parts.append(f"backbone {task['backbone']}")
    if "input_size" in task:
        parts.append(f"input {_size(task['input_size'])}")
    for key in ("classes", "keypoints"):
        if isinstance(task.get(key), list):
            parts.append(f"{len(task[key])} {key}")
    parts.append(f"kind {_kind(name, task)}")
    lines = [f"  {name}: {', '.join(parts)}"]
    if isinstance(task.get("postprocess"), dict):
        lines.append(f"    postprocess: {_fields(task['postprocess'])}")
    for need in task.get("needs") or ():
        lines.append(f"    needs: {_fields(need)}")
    return lines


def _describe_graph(name: str, graph: dict[str, Any], bundle: Any,
                    manifest_json: str) -> list[str]:
    parts = [str(graph.get("role", "graph"))]
    if "input_size" in graph:
        parts.append(f"input {_size(graph['input_size'])}")
    for key in ("inputs", "outputs"):
        if isinstance(graph.get(key), list):
            parts.append(f"{len(graph[key])} {key}")
    lines = [f"  {name}: {', '.join(parts)}"]
    for vname, variant in graph["variants"].items():
        blobs = ", ".join(f"{role} {blob} ({_human_size(bundle.blob_info(blob).size)})"
                          for role, blob in variant["blobs"].items())
        lines.append(f"    {vname}: {variant['backend']} {variant['precision']}: {blobs}")
        lines.extend(_gate(manifest_json, name, vname, variant))
    return lines


def _gate(manifest_json: str, graph: str, vname: str, variant: dict[str, Any]) -> list[str]:
    """The variant's INT8 gate line, as the Session reads it ([] when it records none)."""
    try:
        from ._preprocess import _import_core
        why = _import_core().failed_gate(manifest_json, graph, vname)
    except ImportError:
        why = ""
    if why:
        return [f"      GATE FAILED: {why}; the Session refuses it unless told "
                "accept_failed_gate"]
    gate = variant.get("gate")
    return ["      INT8 gate passed"] if isinstance(gate, dict) and gate.get("passed") else []


def _fields(value: Any, top: bool = True) -> str:
    """``key=value, ...`` for an object, compact JSON inside it; long values shortened."""
    if isinstance(value, dict) and top:
        return ", ".join(f"{k}={_fields(v, False)}" for k, v in value.items()) or "{}"
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 72 else text[:69] + "..."


def _size(value: Any) -> str:
    return "x".join(map(str, value)) if isinstance(value, list) else str(value)


def _human_size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
