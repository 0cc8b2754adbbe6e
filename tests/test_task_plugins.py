"""A task is one plugin: the manifest declares its decoder kind; every layer finds its code
through a registry keyed by that kind, and runtime policy has one owner, the C++ core.

- the exported manifest (format 1.1) names each task's kind, results and needs;
- a toy kind added at run time (a decoder written in Python, registered in the core's
  registry, and a result class registered in the Python kind table) runs end to end
  through ``Session`` without any dispatch code changing; a kind without a Python
  result class comes back as ``TaskArrays``; a kind nobody registered does not stop the
  other tasks;
- a format 1.0 bundle (no kinds) runs exactly like its 1.1 twin, and ``info`` says how to
  re-export it;
- one variant rule: libargus's C API and the Python binding choose the same backend,
  variant and precision for every (backend, precision) request;
- ``import argus_edge`` works without the compiled core and using it says how to build it.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("onnxruntime")

import argus_edge  # noqa: E402
from argus_edge import (  # noqa: E402
    BundleError,
    Classification,
    Session,
    TaskArrays,
    read_bundle,
    register_result,
)
from argus_edge._preprocess import _import_core  # noqa: E402
from bundle_tools import NO_LIBARGUS_C, libargus_c, rewrite_bundle  # noqa: E402

IMAGE = np.ascontiguousarray(np.random.default_rng(3).integers(0, 256, (48, 64, 3), np.uint8))


def test_manifest_declares_each_task_kind(tiny_bundle):
    kinds = _import_core().decoder_kinds()
    with read_bundle(tiny_bundle) as b:
        assert b.version == (1, 1)
        tasks = b.tasks
    expected = {"det": "dense_detection", "inst": "prototype_masks", "sem": "label_map",
                "depth": "value_map", "cls": "classification", "pose": "topdown_keypoints"}
    assert {t: e["kind"] for t, e in tasks.items()} == expected
    for entry in tasks.values():
        assert entry["results"] == kinds[entry["kind"]]
    assert tasks["pose"]["needs"] == [{"task": "det", "arrays": ["boxes", "scores", "labels"],
                                       "class": "person", "crop": {"padding": 1.25}}]
    assert all("needs" not in e for t, e in tasks.items() if t != "pose")


def test_results_come_from_the_kind_table(tiny_bundle):
    s = Session(tiny_bundle, score_threshold=0.005)
    r = s.run(IMAGE)
    for task, result in r.tasks.items():
        assert type(result) is argus_edge.results.result_class(s.task_info(task)["kind"])
    assert s.info["kinds"]["pose"] == "topdown_keypoints"
    assert s.task_info("pose")["input"] == "crops" and s.task_info("det")["input"] == "image"
    assert s.inputs["pose"]["resize"] == "person crops (affine)"


@dataclass(frozen=True)
class _Toy:
    """The toy kind's result class: the logits, the argmax; draws a caption."""

    logits: np.ndarray
    top: int

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], task: dict[str, Any]) -> _Toy:
        return cls(arrays["logits"], int(arrays["top"][0]))

    def draw(self, canvas, task: str) -> None:
        canvas.caption = f"{task}: {self.top}"

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        return {"top": self.top}


def _toy_decode(outputs, transform, task):
    """A decoder kind written in Python: the cls head's logits and their argmax."""
    logits = outputs[task["params"].get("output", "logits")][0]
    return {"logits": logits.astype(np.float32), "top": np.array([logits.argmax()], np.int64)}


@pytest.fixture(scope="module")
def toy_bundle(tiny_bundle, tmp_path_factory) -> Path:
    """The tiny bundle plus "toy" (kind toy_py_logits, on the cls head), "raw" (kind
    toy_py_raw: registered in the core, no Python result class) and "future" (kind
    from_the_future: registered nowhere)."""
    def add(m):
        cls = m["tasks"]["cls"]
        base = {"graph": cls["graph"], "backbone": cls["backbone"],
                "input_size": cls["input_size"]}
        m["tasks"]["toy"] = {**base, "kind": "toy_py_logits"}
        m["tasks"]["raw"] = {**base, "kind": "toy_py_raw"}
        m["tasks"]["future"] = {**base, "kind": "from_the_future"}
    core = _import_core()
    if "toy_py_logits" not in core.decoder_kinds():
        results = [("logits", "float32", ["c"]), ("top", "int64", [1])]
        core.register_decoder("toy_py_logits", results, _toy_decode)
        core.register_decoder("toy_py_raw", results, _toy_decode)
        register_result("toy_py_logits")(_Toy)
    return rewrite_bundle(tiny_bundle, tmp_path_factory.mktemp("toy") / "toy.engine", add)


def test_a_toy_kind_runs_end_to_end_without_dispatch_code(toy_bundle):
    s = Session(toy_bundle)
    r = s.run(IMAGE, tasks=["toy", "cls", "raw"])
    assert isinstance(r.toy, _Toy) and isinstance(r.cls, Classification)
    probs = np.exp(r.toy.logits - r.toy.logits.max())
    probs /= probs.sum()
    assert r.toy.top == r.cls.labels[0]
    assert probs.max() == pytest.approx(float(r.cls.probabilities[0]), abs=1e-6)
    assert isinstance(r.raw, TaskArrays) and r.raw.kind == "toy_py_raw"
    np.testing.assert_array_equal(r.raw["logits"], r.toy.logits)
    assert r.draw().size == (64, 48)
    assert json.loads(r.to_json())["tasks"]["toy"] == {"top": r.toy.top}
    assert s.task_info("toy")["results"][1] == {"name": "top", "dtype": "int64", "shape": [1]}


def test_an_unknown_kind_does_not_stop_the_other_tasks(toy_bundle):
    s = Session(toy_bundle)
    assert "from_the_future" in s.task_info("future")["error"]
    with pytest.raises(BundleError, match="from_the_future"):
        s.run(IMAGE, tasks=["future"])
    assert "future" not in s.run(IMAGE).tasks  # the default: every task that can run
    assert len(s.run(IMAGE, tasks=["det"]).det.boxes.shape) == 2


def test_needs_are_checked_when_the_bundle_opens(tiny_bundle, tmp_path):
    def break_needs(m):
        m["tasks"]["pose"]["needs"][0]["arrays"] = ["keypoints"]  # det has none
    s = Session(rewrite_bundle(tiny_bundle, tmp_path / "b.engine", break_needs))
    assert "keypoints" in s.task_info("pose")["error"]
    with pytest.raises(BundleError, match="cannot run"):
        s.run(IMAGE, tasks=["pose"])
    assert len(s.run(IMAGE, tasks=["det"]).det.scores.shape) == 1

    def no_det(m):
        m["tasks"]["pose"]["needs"][0]["task"] = "xyz"
    crafted = _write_unchecked(tiny_bundle, tmp_path, no_det)
    with pytest.raises(BundleError, match="'xyz' is not an entry of 'tasks'"):
        Session(crafted)
    with pytest.raises(BundleError, match="'xyz' is not an entry of 'tasks'"):
        read_bundle(crafted)


def _write_unchecked(src: Path, tmp_path: Path, edit) -> Path:
    """``edit`` applied past the writer's reference checks (a crafted file)."""
    import hashlib

    from argus_edge import _bundle_format as fmt
    with read_bundle(src) as b:
        manifest = json.loads(json.dumps(b.manifest))
        data = bytearray(Path(src).read_bytes())
        manifest_size = b._manifest_end - fmt.HEADER.size
    edit(manifest)
    text = json.dumps(manifest, separators=(",", ":")).encode()
    if len(text) > manifest_size:
        pytest.skip("the edited manifest no longer fits in place")
    text += b" " * (manifest_size - len(text))
    header = fmt.Header(*fmt.HEADER.unpack(bytes(data[:64]))[1:3], 0, 64, manifest_size,
                        hashlib.sha256(text).digest()).pack()
    data[:64], data[64:64 + manifest_size] = header, text
    data[-48:] = fmt.pack_trailer(header, len(data))
    out = tmp_path / "crafted.engine"
    out.write_bytes(bytes(data))
    return out


def _as_format_1_0(manifest: dict) -> None:
    """What the 1.0 exporter wrote: no kinds, results or needs."""
    for entry in manifest["tasks"].values():
        for key in ("kind", "results", "needs"):
            entry.pop(key, None)


def test_a_format_1_0_bundle_runs_like_its_1_1_twin(tiny_bundle, tmp_path):
    old = rewrite_bundle(tiny_bundle, tmp_path / "v10.engine", _as_format_1_0, version=(1, 0))
    with read_bundle(old) as b:
        assert b.version == (1, 0) and "kind" not in b.tasks["det"]
    a = Session(tiny_bundle, score_threshold=0.005).run(IMAGE)
    s = Session(old, score_threshold=0.005)
    b = s.run(IMAGE)
    assert s.info["format_version"] == [1, 0]
    assert s.info["kinds"] == Session(tiny_bundle).info["kinds"]
    assert len(a.pose) > 0
    for task in a.tasks:
        assert a[task].to_dict(maps=True) == b[task].to_dict(maps=True), task
    text = argus_edge.describe(old)
    assert "format 1.0" in text and "Re-export" in text and "kind topdown_keypoints" in text


# ---- one variant rule: the C API and Python ----------------------------------------------
PRECISIONS = (None, "fp32", "fp16", "int8", "bf16")


@pytest.fixture(scope="module")
def three_variant_bundle(tiny_bundle, tmp_path_factory) -> Path:
    """The tiny bundle with onnx-fp32, openvino-fp32 and openvino-int8 variants (the int8
    one a relabelled copy of the fp32 IR: what is tested is the choice, not the graph)."""
    def add_int8(m):
        for g in m["graphs"].values():
            g["variants"]["openvino-int8"] = {**g["variants"]["openvino-fp32"],
                                              "precision": "int8"}
    return rewrite_bundle(tiny_bundle, tmp_path_factory.mktemp("variants") / "v.engine", add_int8)


def _python_choice(path: Path, backend: str, precision: str | None, providers: bool):
    """(backend, variant, inference precision) or the error class's name."""
    core = _import_core()
    from argus_edge.runners import python_providers
    try:
        s = core.Session(str(path), backend, precision=precision or "",
                         providers=python_providers() if providers else {})
    except argus_edge.ArgusError as e:
        return type(e).__name__
    c = s.choice
    return c["backend"], c["variant"], c["inference_precision"]


def _c_choice(lib: ctypes.CDLL, path: Path, backend: str, precision: str | None):
    errors = {1: "InvalidArgumentError", 4: "BundleError", 5: "BackendUnavailableError"}
    params = lib.argus_session_default_params()
    params.backend = backend.encode()
    params.precision = precision.encode() if precision else None
    session = ctypes.c_void_p()
    status = lib.argus_session_create(str(path).encode(), ctypes.byref(params),
                                      ctypes.byref(session))
    if status != 0:
        return errors.get(status, f"status {status}")
    names = [ctypes.c_char_p() for _ in range(3)]
    assert lib.argus_session_backend(session, *[ctypes.byref(n) for n in names]) == 0
    lib.argus_session_destroy(session)
    return tuple(n.value.decode() for n in names)


def test_c_api_and_python_choose_the_same_variant(three_variant_bundle):
    lib = libargus_c()
    if lib is None:
        pytest.skip(NO_LIBARGUS_C)
    for backend in ("auto",) + argus_edge.backends.names():
        for precision in PRECISIONS:
            c = _c_choice(lib, three_variant_bundle, backend, precision)
            py = _python_choice(three_variant_bundle, backend, precision, providers=False)
            assert c == py, (backend, precision)


def test_the_variant_rule(three_variant_bundle):
    """With Python's ONNX Runtime runner beside libargus's OpenVINO."""
    expected = {
        ("auto", None): ("openvino", "openvino-fp32", "f32"),
        ("auto", "fp32"): ("openvino", "openvino-fp32", "f32"),
        ("auto", "fp16"): "BackendUnavailableError",
        ("auto", "int8"): ("openvino", "openvino-int8", "int8"),
        ("auto", "bf16"): ("openvino", "openvino-fp32", "bf16"),
        ("openvino", None): ("openvino", "openvino-fp32", "f32"),
        ("openvino", "int8"): ("openvino", "openvino-int8", "int8"),
        ("onnxruntime", None): ("onnxruntime", "onnx-fp32", "fp32"),
        ("onnxruntime", "fp32"): ("onnxruntime", "onnx-fp32", "fp32"),
        ("onnxruntime", "int8"): "BackendUnavailableError",
        ("onnxruntime", "bf16"): "BackendUnavailableError",
        ("tensorrt", None): "BackendUnavailableError",
    }
    for (backend, precision), want in expected.items():
        got = _python_choice(three_variant_bundle, backend, precision, providers=True)
        assert got == want, (backend, precision)
    s = Session(three_variant_bundle, precision="int8")
    assert s.info["variant"] == "openvino-int8" and s.precision == "int8"


def test_import_without_the_core_says_how_to_build(tmp_path):
    code = ("import sys; sys.modules['argus_edge._core'] = None\n"
            "import argus_edge\n"
            "try:\n"
            "    argus_edge.Session('x.engine')\n"
            "except ImportError as e:\n"
            "    print('HINT', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HINT" in out.stdout and "pip install" in out.stdout
