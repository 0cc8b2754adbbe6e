"""The ``.engine`` bundle container: round trip, atomic writes, corruption, schema, CLI."""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import argus_edge
from argus_edge import _bundle_format as fmt
from argus_edge import bundle as bundle_module
from argus_edge.bundle import Bundle, describe, read_bundle, write_bundle
from argus_edge.cli import main

CREATED = "2026-11-22T17:00:00Z"


def _manifest() -> dict:
    """A small manifest shaped like the exporter's (two tasks, three graphs)."""
    def variant(backend: str, blobs: dict) -> dict:
        return {"backend": backend, "precision": "fp32", "blobs": blobs}

    return {
        "format": "argus-engine", "format_version": [1, 0], "sdk_version": "0.1.0",
        "created": CREATED,
        "model": {"name": "argus_tiny", "config": {
            "name": "argus_tiny", "vit": {"embed_dim": 192, "depth": 12, "num_heads": 3,
                                          "patch_size": 14, "num_registers": 4},
            "adapter": {"interaction_indexes": [[0, 2], [3, 5]], "extra_extractors": 2},
            "heads": {"det": {}, "pose": {}}}},
        "preprocess": {"color": "RGB", "mean": [123.675, 116.28, 103.53],
                       "std": [58.395, 57.12, 57.375], "resize": "letterbox"},
        "graphs": {
            "backbone_128x128": {"role": "backbone", "input_size": [128, 128], "variants": {
                "onnx-fp32": variant("onnxruntime", {"model": "backbone.onnx"}),
                "openvino-fp32": variant("openvino", {"xml": "backbone.xml",
                                                      "bin": "backbone.bin"})}},
            "det_128x128": {"role": "head", "variants": {
                "onnx-fp32": variant("onnxruntime", {"model": "det.onnx"})}},
            "pose_128x96": {"role": "head", "variants": {
                "onnx-fp32": variant("onnxruntime", {"model": "pose.onnx"})}}},
        "tasks": {
            "det": {"graph": "det_128x128", "backbone": "backbone_128x128",
                    "input_size": [128, 128], "classes": ["person", "circle"],
                    "postprocess": {"score_threshold": 0.05, "iou_threshold": 0.6}},
            "pose": {"graph": "pose_128x96", "input_size": [128, 96],
                     "keypoints": ["nose", "eye"], "postprocess": {"decode": "dark"}}},
        "provenance": {"checkpoint_sha256": "ab" * 32,
                       "calibration": {"images": 64, "method": "minmax"}},
    }


def _blobs(tmp_path: Path) -> dict:
    file_blob = tmp_path / "weights.bin"
    file_blob.write_bytes(bytes(range(250)))
    return {"backbone.onnx": b"onnx-backbone" * 7, "backbone.xml": b"<net/>",
            "backbone.bin": file_blob, "det.onnx": b"", "pose.onnx": bytearray(b"pose" * 9)}


@pytest.fixture
def small_bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "model.engine", _manifest(), _blobs(tmp_path))


def _seal(manifest: dict, body: dict[int, bytes], version=(1, 0), raw: bytes | None = None):
    """Bundle bytes with exactly this manifest and these bytes at these offsets (no checks)."""
    data = raw if raw is not None else json.dumps(manifest).encode()
    end = max([64 + len(data)] + [offset + len(b) for offset, b in body.items()])
    out = bytearray(fmt.align(end) + 48)
    header = fmt.Header(*version, 0, 64, len(data), hashlib.sha256(data).digest()).pack()
    out[:64], out[64:64 + len(data)] = header, data
    for offset, b in body.items():
        out[offset:offset + len(b)] = b
    out[-48:] = fmt.pack_trailer(header, len(out))
    return bytes(out)


def _crafted(blobs: list[tuple[str, int, bytes]]) -> tuple[dict, dict[int, bytes]]:
    """A manifest whose blob table places these (name, offset, bytes) as given."""
    m = _manifest()
    m["graphs"] = {"g": {"variants": {}}}
    m["tasks"] = {"t": {"graph": "g"}}
    m["blobs"] = [{"name": n, "offset": o, "size": len(b), "media_type": "x/y",
                   "sha256": hashlib.sha256(b).hexdigest()} for n, o, b in blobs]
    return m, {o: b for _, o, b in blobs}


def test_round_trip(small_bundle: Path, tmp_path: Path):
    given = _manifest()
    blobs = _blobs(tmp_path)
    with read_bundle(small_bundle) as b:
        assert b.version == (1, 0)
        assert {k: v for k, v in b.manifest.items() if k != "blobs"} == given
        assert b.blob_names() == list(blobs)
        for name, value in blobs.items():
            expected = value.read_bytes() if isinstance(value, Path) else bytes(value)
            assert bytes(b.blob(name)) == expected
            info = b.blob_info(name)
            assert info.offset % 64 == 0 and info.size == len(expected)
            assert info.sha256 == hashlib.sha256(expected).hexdigest()
        assert b.blob_info("backbone.onnx").media_type == "application/x-onnx"
        assert b.sha256 == hashlib.sha256(small_bundle.read_bytes()).hexdigest()
        assert set(b.graphs) == set(given["graphs"]) and set(b.tasks) == {"det", "pose"}
        assert b.size == small_bundle.stat().st_size
        # rewriting a bundle from its own manifest and blobs is byte-identical
        again = write_bundle(tmp_path / "again.engine", b.manifest,
                             {n: b.blob(n) for n in b.blob_names()})
    assert again.read_bytes() == small_bundle.read_bytes()
    assert given == _manifest()  # the caller's manifest is not modified


def test_writer_fills_defaults_and_media_types(tmp_path: Path):
    m = _manifest()
    for key in ("format", "format_version", "sdk_version", "created"):
        del m[key]
    path = write_bundle(tmp_path / "b.engine", m, _blobs(tmp_path),
                        media_types={"det.onnx": "application/x-custom"})
    with Bundle.open(path) as b:
        assert b.manifest["format"] == "argus-engine" and b.manifest["format_version"] == [1, 0]
        assert b.manifest["sdk_version"] == argus_edge.__version__
        assert fmt._CREATED_RE.fullmatch(b.manifest["created"])
        assert b.blob_info("det.onnx").media_type == "application/x-custom"
        assert b.blob_info("backbone.bin").media_type == "application/octet-stream"


def test_blobs_are_read_only_views_of_the_mapping(small_bundle: Path, tmp_path: Path):
    b = read_bundle(small_bundle)
    view = b.blob("backbone.bin")
    assert isinstance(view, memoryview) and view.readonly
    assert isinstance(view.obj, mmap.mmap)  # zero copy
    with pytest.raises(TypeError):
        view[0] = 1
    out = b.blob_to_file("backbone.bin", tmp_path / "copy.bin")
    assert out.read_bytes() == bytes(view)
    b.close()
    b.close()  # idempotent
    assert b.closed and bytes(view[:3]) == b"\x00\x01\x02"  # views outlive close()
    with pytest.raises(argus_edge.BundleError, match="closed"):
        b.blob("backbone.bin")
    with pytest.raises(argus_edge.InvalidArgumentError, match="no blob named 'nope'"):
        b.blob("nope")


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_failed_write_leaves_nothing_and_keeps_existing_bundle(small_bundle, tmp_path,
                                                                monkeypatch):
    before = _listing(tmp_path)

    def boom(*args):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(bundle_module.os, "fsync", boom)
        with pytest.raises(OSError, match="disk full"):
            write_bundle(small_bundle, _manifest(), _blobs(tmp_path))
        with pytest.raises(OSError, match="disk full"):
            write_bundle(tmp_path / "new.engine", _manifest(), _blobs(tmp_path))
    calls = []

    def fail_on_second_blob(out, info, source):
        calls.append(info.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_write_blob(out, info, source)

    real_write_blob = bundle_module._write_blob
    monkeypatch.setattr(bundle_module, "_write_blob", fail_on_second_blob)
    with pytest.raises(KeyboardInterrupt):
        write_bundle(small_bundle, _manifest(), _blobs(tmp_path))
    assert _listing(tmp_path) == before
    read_bundle(small_bundle).close()


def test_every_single_byte_flip_is_detected(small_bundle: Path, capsys):
    good = small_bundle.read_bytes()
    assert 1000 < len(good) < 4096
    messages = set()
    for offset in range(len(good)):
        for mask in (0x01, 0xFF) if offset % 7 == 0 else (0x01,):
            data = bytearray(good)
            data[offset] ^= mask
            small_bundle.write_bytes(data)
            with pytest.raises(argus_edge.BundleError) as e:
                read_bundle(small_bundle).close()
            messages.add(str(e.value).split(": ", 1)[1].split(" ")[0])
            if offset % 97 == 0:
                assert main(["info", str(small_bundle)]) == 1
                err = capsys.readouterr().err
                assert err.count("\n") == 1 and "error: " in err and "Traceback" not in err
    # each part of the file is checked by its own rule
    assert {"bad", "header", "manifest", "non-zero", "blob", "trailer"} <= messages


def test_messages_name_the_problem(small_bundle: Path):
    good = small_bundle.read_bytes()
    with read_bundle(small_bundle) as b:
        info, manifest_end = b.blob_info("backbone.onnx"), 64 + len(fmt.encode_manifest(
            b.manifest))
    cases = {0: "bad magic", info.offset + 3: "blob 'backbone.onnx' SHA-256 mismatch "
             "(corrupt or tampered)", 100: "manifest SHA-256 mismatch",
             manifest_end: f"non-zero padding at offset {manifest_end}",
             len(good) - 48: "bad trailer magic", len(good) - 40: "trailer records",
             len(good) - 1: "header SHA-256 mismatch", 12: "header SHA-256 mismatch",
             8: "header SHA-256 mismatch"}  # a corrupt version is corruption
    for offset, message in cases.items():
        data = bytearray(good)
        data[offset] ^= 0x01
        small_bundle.write_bytes(data)
        with pytest.raises(argus_edge.BundleError, match=re.escape(message)):
            read_bundle(small_bundle)


def test_truncation_at_every_length_is_detected(small_bundle: Path):
    good = small_bundle.read_bytes()
    for length in range(len(good)):
        small_bundle.write_bytes(good[:length])
        with pytest.raises(argus_edge.BundleError, match="truncated"):
            read_bundle(small_bundle)
    small_bundle.write_bytes(good[:len(good) - 10])
    with pytest.raises(argus_edge.BundleError,
                       match=f"truncated: expected {len(good)} bytes, file has {len(good) - 10}"):
        read_bundle(small_bundle)


@pytest.mark.parametrize("extra", [b"\0", b"\0" * 64, b"garbage" * 100, "trailer"])
def test_appended_bytes_are_detected(small_bundle: Path, extra):
    good = small_bundle.read_bytes()
    extra = good[-48:] if extra == "trailer" else extra
    small_bundle.write_bytes(good + extra)
    with pytest.raises(argus_edge.BundleError, match=f"{len(extra)} unexpected bytes"):
        read_bundle(small_bundle)


def test_newer_minor_is_read_and_newer_major_refused(tmp_path, monkeypatch):
    m = _manifest()
    del m["format_version"]
    m["future_key"] = {"anything": [1, 2]}  # unknown keys are allowed
    monkeypatch.setattr(fmt, "WRITER_VERSION", (1, 7))
    newer_minor = write_bundle(tmp_path / "minor.engine", m, _blobs(tmp_path))
    monkeypatch.setattr(fmt, "WRITER_VERSION", (2, 0))
    newer_major = write_bundle(tmp_path / "major.engine", m, _blobs(tmp_path))
    with read_bundle(newer_minor) as b:
        assert b.version == (1, 7) and b.manifest["future_key"] == {"anything": [1, 2]}
    with pytest.raises(argus_edge.BundleError,
                       match=r"unsupported format version 2\.0 \(this reader supports 1\.x\)"):
        read_bundle(newer_major)


def _break(m: dict, path: str, value) -> dict:
    *parents, last = path.split("/")
    node = m
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return m


@pytest.mark.parametrize("path, value, message", [
    ("tasks/det/graph", "missing_graph", "task 'det' graph 'missing_graph'"),
    ("tasks/det/backbone", "nope", "task 'det' backbone 'nope'"),
    ("graphs/det_128x128/variants/onnx-fp32/blobs/model", "ghost.onnx", "'ghost.onnx'"),
    ("graphs/det_128x128/variants", KeyError, "'variants' must be a JSON object"),
    ("provenance", KeyError, "'provenance' must be a JSON object"),
    ("model/name", 3, "'model.name' must be a JSON string"),
    ("format", "onnx", "'format' must be 'argus-engine'"),
    ("format_version", [1, 1], "does not match"),
    ("created", "2026-11-22 17:00", "ISO 8601 UTC"),
    ("preprocess", {"mean": float("nan")}, "not JSON-serialisable"),
])
def test_writer_refuses_bad_manifests(tmp_path, path, value, message):
    m = _break(_manifest(), path, value)
    with pytest.raises(argus_edge.InvalidArgumentError, match=message):
        write_bundle(tmp_path / "bad.engine", m, _blobs(tmp_path))
    assert list(tmp_path.glob("*.engine")) == [] and list(tmp_path.glob(".*")) == []


@pytest.mark.parametrize("name", ["a/b", "a\\b", "..", ".hidden", "", "x" * 256, "café",
                                  "a b", "c:d", "tab\t", 7])
def test_unsafe_blob_names_are_refused(tmp_path, name):
    with pytest.raises(argus_edge.InvalidArgumentError, match="unsafe blob name"):
        write_bundle(tmp_path / "bad.engine", _manifest(), {**_blobs(tmp_path), name: b"x"})


def test_writer_refuses_bad_blob_values(tmp_path):
    with pytest.raises(argus_edge.InvalidArgumentError, match="pathlib.Path"):
        write_bundle(tmp_path / "b.engine", _manifest(), {**_blobs(tmp_path), "x": "a.bin"})
    with pytest.raises(FileNotFoundError, match="blob 'x'"):
        write_bundle(tmp_path / "b.engine", _manifest(),
                     {**_blobs(tmp_path), "x": tmp_path / "missing.bin"})


def test_crafted_bundles_are_checked(tmp_path):
    path = tmp_path / "crafted.engine"
    ok_manifest, body = _crafted([("a.bin", 4096, b"abc"), ("b.bin", 8192, b"")])
    path.write_bytes(_seal(ok_manifest, body))
    with read_bundle(path) as b:  # wide zero gaps are allowed
        assert bytes(b.blob("a.bin")) == b"abc"
    cases = [
        (_crafted([("a.bin", 4096, b"a"), ("a.bin", 4160, b"b")]), "duplicate blob name"),
        (_crafted([("a.bin", 4096, b"abc"), ("b.bin", 4097, b"b")]), "not a multiple of 64"),
        (_crafted([("a.bin", 4096, b"a" * 100), ("b.bin", 4160, b"b")]), "overlaps"),
        (_crafted([("b.bin", 8192, b"b"), ("a.bin", 4096, b"a")]), "out of offset order"),
        (_crafted([("../a.bin", 4096, b"a")]), "unsafe blob name"),
        (_crafted([("a.bin", 64, b"")]), "overlaps the previous part"),
    ]
    ref = _crafted([("a.bin", 4096, b"a")])
    ref[0]["graphs"]["g"]["variants"] = {"v": {"backend": "x", "precision": "y",
                                               "blobs": {"model": "ghost.bin"}}}
    cases.append((ref, "'ghost.bin', which the bundle does not contain"))
    for (manifest, body), message in cases:
        path.write_bytes(_seal(manifest, body))
        with pytest.raises(argus_edge.BundleError, match=message):
            read_bundle(path)
    raw_cases = [(b'{"a": 1, "a": 2}', "duplicate key 'a'"), (b'{"a": NaN}', "NaN"),
                 (b"[1]", "must be a JSON object"), (b"\xff{}", "not valid UTF-8"),
                 (b"{", "manifest is not valid JSON"),
                 (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply")]
    for raw, message in raw_cases:
        path.write_bytes(_seal({}, {}, raw=raw))
        with pytest.raises(argus_edge.BundleError, match=message):
            read_bundle(path)
    m, body = _crafted([])
    path.write_bytes(_seal(m, body, version=(1, 1)))  # header 1.1, manifest [1, 0]
    with pytest.raises(argus_edge.BundleError, match="does not match the header"):
        read_bundle(path)


def test_verify_false_defers_blob_checks(small_bundle: Path, tmp_path: Path):
    with read_bundle(small_bundle) as b:
        info = b.blob_info("backbone.bin")
    data = bytearray(small_bundle.read_bytes())
    data[info.offset + 5] ^= 0x10
    small_bundle.write_bytes(data)
    with read_bundle(small_bundle, verify=False) as b:
        with pytest.raises(argus_edge.BundleError, match="'backbone.bin' SHA-256 mismatch"):
            b.verify()
        with pytest.raises(argus_edge.BundleError, match="SHA-256 mismatch"):
            b.blob_to_file("backbone.bin", tmp_path / "extracted.bin")
    assert not (tmp_path / "extracted.bin").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_missing_and_unreadable_files(tmp_path: Path, capsys):
    missing = tmp_path / "missing.engine"
    with pytest.raises(argus_edge.BundleNotFoundError, match="no such bundle file") as e:
        read_bundle(missing)
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, argus_edge.BundleError)
    assert str(e.value) == f"{missing}: no such bundle file"
    with pytest.raises(argus_edge.BundleError, match="cannot read"):
        read_bundle(tmp_path)
    (tmp_path / "empty.engine").write_bytes(b"")
    with pytest.raises(argus_edge.BundleError, match="truncated: file has 0 bytes"):
        read_bundle(tmp_path / "empty.engine")
    (tmp_path / "text.engine").write_bytes(b"hello world")
    with pytest.raises(argus_edge.BundleError, match="bad magic"):
        read_bundle(tmp_path / "text.engine")
    assert main(["info", str(missing)]) == 1
    assert "no such bundle file" in capsys.readouterr().err


def test_describe(small_bundle: Path):
    text = describe(small_bundle)
    with read_bundle(small_bundle) as b:
        assert describe(b) == text
        sha = b.sha256
    for expected in ["format 1.0", "created 2026-11-22T17:00:00Z by argus-edge 0.1.0", sha,
                     "model: argus_tiny", "embed_dim=192", "2 interactions", "heads: det, pose",
                     "resize=letterbox",
                     "det: graph det_128x128, backbone backbone_128x128, input 128x128, "
                     "2 classes", "score_threshold=0.05, iou_threshold=0.6",
                     "pose: graph pose_128x96, input 128x96, 2 keypoints",
                     "openvino-fp32: openvino fp32: xml backbone.xml (6 bytes), "
                     "bin backbone.bin (250 bytes)", "model det.onnx (0 bytes)",
                     "calibration: images=64, method=minmax"]:
        assert expected in text, expected


def test_cli_info(small_bundle: Path, capsys):
    assert main(["info", str(small_bundle)]) == 0
    assert "model: argus_tiny" in capsys.readouterr().out
    assert main(["info", str(small_bundle), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    with read_bundle(small_bundle) as b:
        assert printed == b.manifest


def test_runtime_bundle_code_never_imports_torch(small_bundle: Path):
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import argus_edge.bundle\n"
        "from argus_edge.cli import main\n"
        f"assert main(['info', {str(small_bundle)!r}]) == 0\n"
        "assert 'torch' not in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, env={**os.environ, "PYTHONWARNINGS": "error"})
    assert r.returncode == 0, r.stderr
    assert "argus_tiny" in r.stdout
