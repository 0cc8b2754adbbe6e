"""The INT8 accuracy gate protects deployments.

- The quantizer writes no bundle for a backend that failed its gate unless asked
  (``--allow-failed-gate``), and every INT8 variant it writes records the gate's verdict.
- libargus's Session (hence the C API and ``argus_edge.Session``) refuses variants whose
  manifest records a failed gate with a typed error (``GateFailedError``,
  ``ARGUS_STATUS_GATE_FAILED``) unless told to accept them; format 1.0/1.1 INT8 bundles
  record it only in ``provenance.calibration.passed_gate``, which is read the same way.
- ``argus-edge info`` shows it.

The bundles here relabel the tiny bundle's fp32 IR as INT8 variants: what is tested is the
policy, not the graphs.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

pytest.importorskip("openvino")

from argus_edge import BackendUnavailableError, Session  # noqa: E402
from argus_edge._errors import BundleError, GateFailedError  # noqa: E402
from argus_edge.bundle import describe  # noqa: E402
from bundle_tools import NO_LIBARGUS_C, libargus_c, rewrite_bundle  # noqa: E402

GATE_FAILED = 7  # ARGUS_STATUS_GATE_FAILED


def _int8_bundle(tiny_bundle: Path, out: Path, gate: dict | None, keep_fp32: bool = False,
                 legacy_passed: bool | None = None) -> Path:
    """The tiny bundle with an ``openvino-int8`` variant of every graph recording ``gate``
    (None: no record), with or without its fp32 variants; ``legacy_passed`` sets
    ``provenance.calibration.passed_gate``."""
    def edit(m):
        for g in m["graphs"].values():
            int8 = {**g["variants"]["openvino-fp32"], "precision": "int8"}
            if gate is not None:
                int8["gate"] = gate
            g["variants"] = ({**g["variants"]} if keep_fp32 else {}) | {"openvino-int8": int8}
        if legacy_passed is not None:
            m["provenance"]["calibration"] = {"backend": "openvino", "passed_gate": legacy_passed}
    return rewrite_bundle(tiny_bundle, out, edit)


FAILED = {"passed": False, "detail": "failed after 3 round(s): det cosine 0.91 < 0.99"}


def test_session_refuses_a_failed_gate_unless_told(tiny_bundle, tmp_path):
    path = _int8_bundle(tiny_bundle, tmp_path / "failed.engine", FAILED)
    with pytest.raises(GateFailedError, match="accuracy gate.*det cosine 0.91.*accept_failed_gate"):
        Session(path)
    assert issubclass(GateFailedError, BundleError)  # except BundleError still catches it
    s = Session(path, accept_failed_gate=True)
    assert s.precision == "int8" and "det cosine 0.91" in s.info["failed_gate"]
    assert s.run(_image(), tasks=["cls"]).cls is not None


def test_passed_or_unrecorded_gates_open(tiny_bundle, tmp_path):
    passed = _int8_bundle(tiny_bundle, tmp_path / "passed.engine", {"passed": True})
    assert Session(passed).info["failed_gate"] == ""
    # an fp32 bundle records no gate; nor did INT8 bundles without provenance
    assert Session(_int8_bundle(tiny_bundle, tmp_path / "none.engine", None)).precision == "int8"


def test_a_failed_int8_variant_does_not_stop_fp32(tiny_bundle, tmp_path):
    path = _int8_bundle(tiny_bundle, tmp_path / "both.engine", FAILED, keep_fp32=True)
    assert Session(path).info["variant"] == "openvino-fp32"  # the most precise: no gate
    with pytest.raises(GateFailedError):
        Session(path, precision="int8")
    with pytest.raises(GateFailedError):
        Session(path, backend="openvino", precision="int8")
    # an unrelated reason stays what it was
    with pytest.raises(BackendUnavailableError):
        Session(path, precision="fp16")


def test_format_1_1_provenance_is_read_the_same_way(tiny_bundle, tmp_path):
    old = _int8_bundle(tiny_bundle, tmp_path / "old.engine", None, legacy_passed=False)
    with pytest.raises(GateFailedError, match="openvino-int8"):
        Session(old)
    assert Session(old, accept_failed_gate=True).info["failed_gate"]
    ok = _int8_bundle(tiny_bundle, tmp_path / "old_ok.engine", None, legacy_passed=True)
    assert Session(ok).info["failed_gate"] == ""


def test_a_gate_of_the_wrong_type_is_a_bundle_error(tiny_bundle, tmp_path):
    for i, gate in enumerate(({"passed": "no"}, {"passed": None}, {"detail": "x"}, [])):
        path = _int8_bundle(tiny_bundle, tmp_path / f"bad{i}.engine", gate)
        with pytest.raises(BundleError, match="gate|passed"):
            Session(path)


def test_info_shows_the_gate(tiny_bundle, tmp_path):
    failed = describe(_int8_bundle(tiny_bundle, tmp_path / "failed.engine", FAILED))
    assert "GATE FAILED" in failed and "accept_failed_gate" in failed
    assert "INT8 gate passed" in describe(
        _int8_bundle(tiny_bundle, tmp_path / "passed.engine", {"passed": True}))


def test_c_api_refuses_a_failed_gate_unless_told(tiny_bundle, tmp_path):
    lib = libargus_c()
    if lib is None:
        pytest.skip(NO_LIBARGUS_C)
    path = str(_int8_bundle(tiny_bundle, tmp_path / "failed.engine", FAILED)).encode()
    params = lib.argus_session_default_params()
    assert params.accept_failed_gate == 0
    session = ctypes.c_void_p()
    assert lib.argus_session_create(path, ctypes.byref(params), ctypes.byref(session)) == GATE_FAILED
    assert b"accept_failed_gate" in lib.argus_last_error() and not session.value
    lib.argus_status_string.restype = ctypes.c_char_p
    assert lib.argus_status_string(GATE_FAILED) == b"accuracy gate failed"
    params.accept_failed_gate = 1
    assert lib.argus_session_create(path, ctypes.byref(params), ctypes.byref(session)) == 0
    why = ctypes.c_char_p()
    assert lib.argus_session_failed_gate(session, ctypes.byref(why)) == 0
    assert b"det cosine 0.91" in why.value
    lib.argus_session_destroy(session)


def _image():
    import numpy as np
    return np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)


# ----------------------------------------------------------------------------- quantizer
@pytest.fixture(scope="module")
def cls_bundle(tiny_bundle, tmp_path_factory) -> Path:
    """The tiny bundle with only its cls task and the graphs it uses (quantizes fast)."""
    def edit(m):
        m["tasks"] = {"cls": m["tasks"]["cls"]}
        used = {m["tasks"]["cls"]["graph"], m["tasks"]["cls"].get("backbone")}
        m["graphs"] = {n: g for n, g in m["graphs"].items() if n in used}
    return rewrite_bundle(tiny_bundle, tmp_path_factory.mktemp("cls") / "cls.engine", edit)


def _quantize(bundle: Path, calib: Path, out: Path, min_cosine: float, *extra: str) -> int:
    pytest.importorskip("onnxruntime")
    from argus_edge.export.quantize import main
    return main(["--bundle", str(bundle), "--calib-dir", str(calib), "--num-calib", "2",
                 "--backend", "onnxruntime", "--min-cosine", str(min_cosine),
                 "--max-rounds", "0", "--out", str(out),
                 "--quiet", *extra])


def test_a_failed_gate_writes_no_bundle_unless_asked(cls_bundle, calib_images, tmp_path,
                                                     capsys):
    # cosine 1.0 cannot pass with INT8 graphs: the gate fails
    assert _quantize(cls_bundle, calib_images, tmp_path / "a", 1.0) == 4
    assert not list((tmp_path / "a").rglob("*.engine"))
    assert "no bundle written" in capsys.readouterr().out
    assert (tmp_path / "a" / "report.json").is_file()

    assert _quantize(cls_bundle, calib_images, tmp_path / "b", 1.0, "--allow-failed-gate") == 4
    (failed,) = (tmp_path / "b").glob("*.engine")
    assert failed.name.endswith(".onnxruntime-int8.gate-failed.engine")
    with pytest.raises(GateFailedError, match="failed after 1 round"):
        Session(failed, backend="onnxruntime")
    assert Session(failed, backend="onnxruntime", accept_failed_gate=True).precision == "int8"


def test_a_passed_gate_is_recorded(cls_bundle, calib_images, tmp_path):
    from argus_edge import read_bundle

    assert _quantize(cls_bundle, calib_images, tmp_path, 0.01) == 0
    (path,) = tmp_path.glob("*.engine")
    with read_bundle(path) as b:
        gates = [v["gate"] for g in b.graphs.values() for v in g["variants"].values()]
    assert gates and all(g["passed"] and g["report"] == "quantization_report.json"
                         for g in gates)
    assert Session(path, backend="onnxruntime").info["failed_gate"] == ""
