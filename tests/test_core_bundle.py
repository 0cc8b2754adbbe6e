"""The C++ bundle reader (``_core.BundleReader``) against the Python reference reader.

Both must accept the same files and refuse the same files, for the same reason: every
single-byte flip, every truncation, and manifests that break one rule (re-sealed with
valid hashes so that only the JSON or schema check can fire).
"""

from __future__ import annotations

import gc
import hashlib
import json
import random
from pathlib import Path

import pytest

import argus_edge
from argus_edge import _bundle_format as fmt
from argus_edge import _core
from argus_edge.bundle import read_bundle, write_bundle

CREATED = "2026-11-22T17:00:00Z"


def _manifest() -> dict:
    """A small manifest shaped like the exporter's: two graphs, one task."""
    def variant(blobs: dict) -> dict:
        return {"backend": "onnxruntime", "precision": "fp32", "blobs": blobs}

    return {
        "format": "argus-engine", "format_version": [1, 0], "sdk_version": "0.1.0",
        "created": CREATED,
        "model": {"name": "argus_tiny", "config": {"name": "argus_tiny", "vit": {"depth": 12}}},
        "preprocess": {"color": "RGB", "mean": [123.675, 116.28, 103.53], "vit_scale": [14, 16]},
        "graphs": {
            "backbone_64": {"role": "backbone", "variants": {
                "onnx-fp32": variant({"model": "backbone.onnx"}),
                "openvino-fp32": variant({"xml": "backbone.xml", "bin": "backbone.bin"})}},
            "det_64": {"role": "head", "task": "det", "variants": {
                "onnx-fp32": variant({"model": "det.onnx"})}}},
        "tasks": {"det": {"graph": "det_64", "backbone": "backbone_64", "classes": ["person"],
                          "postprocess": {"score_threshold": 0.05}}},
        "provenance": {"checkpoint_sha256": "ab" * 32, "calibration": None},
    }


BLOBS = {"backbone.onnx": b"onnx" * 40, "backbone.xml": b"<net/>",
         "backbone.bin": bytes(range(200)), "det.onnx": b""}


@pytest.fixture
def small_bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "small.engine", _manifest(), BLOBS)


def _py_outcome(path: Path, verify: bool = True) -> str | None:
    """None if the Python reader accepts the file, else its message."""
    try:
        read_bundle(path, verify=verify).close()
    except argus_edge.BundleError as e:
        return str(e)
    return None


def _cpp_outcome(path: Path, verify: bool = True) -> str | None:
    try:
        _core.BundleReader(path, verify=verify)
    except argus_edge.BundleError as e:
        return str(e)
    return None


def _kind(message: str | None) -> str | None:
    """Which check fired: the first two words after the path ('bad magic', 'blob 'x'')."""
    return None if message is None else " ".join(message.split(": ", 1)[1].split()[:2])


def _assert_agree(path: Path, what: str) -> str | None:
    py, cpp = _py_outcome(path), _cpp_outcome(path)
    assert _kind(py) == _kind(cpp), f"{what}:\n  Python: {py}\n  C++:    {cpp}"
    return cpp


def _seal(raw_manifest: bytes, body: dict[int, bytes], version=(1, 0)) -> bytes:
    """A bundle with exactly these manifest bytes and blobs, with valid hashes."""
    end = max([64 + len(raw_manifest)] + [offset + len(b) for offset, b in body.items()])
    out = bytearray(fmt.align(end) + 48)
    header = fmt.Header(*version, 0, 64, len(raw_manifest),
                        hashlib.sha256(raw_manifest).digest()).pack()
    out[:64], out[64:64 + len(raw_manifest)] = header, raw_manifest
    for offset, b in body.items():
        out[offset:offset + len(b)] = b
    out[-48:] = fmt.pack_trailer(header, len(out))
    return bytes(out)


def _body(path: Path) -> tuple[bytes, dict[int, bytes]]:
    """The manifest bytes and {offset: blob bytes} of a bundle."""
    with read_bundle(path) as b:
        return (fmt.encode_manifest(b.manifest),
                {i.offset: bytes(b.blob(i.name)) for i in b.blobs})


def test_round_trip_matches_the_python_reader(small_bundle: Path):
    reader = _core.BundleReader(small_bundle)
    with read_bundle(small_bundle) as ref:
        assert json.loads(reader.manifest_json) == ref.manifest
        assert reader.blob_names() == ref.blob_names() == list(BLOBS)
        for name in ref.blob_names():
            assert bytes(reader.blob(name)) == bytes(ref.blob(name)) == BLOBS[name]
        assert reader.sha256 == ref.sha256
        assert reader.version == ref.version == (1, 0)
        assert reader.size == ref.size
    assert reader.manifest_json.encode() == small_bundle.read_bytes()[64:64 + len(
        reader.manifest_json.encode())]
    assert reader.path == str(small_bundle) and "small.engine" in repr(reader)
    reader.verify()
    assert _core.BundleReader(str(small_bundle), verify=False).blob_names() == list(BLOBS)


def test_blobs_are_read_only_zero_copy_views_that_keep_the_reader_alive(small_bundle: Path):
    reader = _core.BundleReader(small_bundle)
    view = reader.blob("backbone.bin")
    assert isinstance(view, memoryview) and view.readonly and view.format == "B"
    assert view.nbytes == 200 and view.obj.base is reader  # no copy: a view of the mapping
    with pytest.raises(TypeError):
        view[0] = 1
    assert len(reader.blob("det.onnx")) == 0
    del reader
    gc.collect()
    assert bytes(view[:3]) == b"\x00\x01\x02"
    with pytest.raises(argus_edge.InvalidArgumentError, match="no blob named 'nope'"):
        _core.BundleReader(small_bundle).blob("nope")


def test_every_single_byte_flip_is_refused_by_both_readers(small_bundle: Path):
    good = small_bundle.read_bytes()
    assert 1000 < len(good) < 4096
    kinds = set()
    for offset in range(len(good)):
        data = bytearray(good)
        data[offset] ^= 0x01 if offset % 3 else 0xFF
        small_bundle.write_bytes(data)
        cpp = _assert_agree(small_bundle, f"flip at {offset}")
        assert cpp is not None, f"flip at {offset} accepted"
        kinds.add(_kind(cpp).split()[0])
    assert {"bad", "header", "manifest", "non-zero", "blob", "trailer"} <= kinds


def test_every_truncation_and_extension_is_refused_by_both_readers(small_bundle: Path):
    good = small_bundle.read_bytes()
    for data in [good[:n] for n in range(len(good))] + [good + b"\0", good + good[-48:]]:
        small_bundle.write_bytes(data)
        assert _assert_agree(small_bundle, f"{len(data)} bytes") is not None
    small_bundle.write_bytes(good[:-10])
    assert _cpp_outcome(small_bundle) == _py_outcome(small_bundle)  # word for word


def _manifest_cases() -> list[tuple[str, bytes, bool]]:
    """(what, manifest bytes, whether to add the blob table): valid and invalid JSON and
    schema, one rule at a time."""
    base = _manifest()
    text = json.dumps(base)

    def edit(path: str, value, drop: bool = False) -> bytes:
        m = json.loads(text)
        *parents, last = path.split("/")
        node = m
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if drop:
            del node[last]
        else:
            node[last] = value
        return json.dumps(m).encode()

    cases = [(f"{path}={value!r}", edit(path, value), True) for path, value in [
        ("format", "onnx"), ("format_version", [1, 1]), ("format_version", [1.0, 0]),
        ("format_version", [True, 0]), ("format_version", "1.0"), ("sdk_version", 1),
        ("created", "2026-11-22 17:00:00Z"), ("created", "2026-11-22T17:00:00.123456789Z"),
        ("created", "2026-11-22T17:00:00.1234567890Z"), ("model", []), ("model/name", None),
        ("model/config", "x"), ("preprocess", None), ("graphs", []), ("tasks", {"x": []}),
        ("provenance", 0), ("graphs/det_64/variants", []),
        ("graphs/det_64/variants/onnx-fp32/backend", 3),
        ("graphs/det_64/variants/onnx-fp32/blobs/model", "ghost.onnx"),
        ("graphs/det_64/variants/onnx-fp32/blobs/model", ["det.onnx"]),
        ("tasks/det/graph", "nope"), ("tasks/det/backbone", None), ("tasks/det/graph", 1),
        ("future", {"deep": [[[1e300, 10**30, -(10**30), "\ud800", "\U0001f600"]]]}),
    ]]
    cases += [(f"drop {path}", edit(path, None, drop=True), True) for path in [
        "format", "created", "model", "model/config", "tasks/det/backbone", "tasks/det/graph"]]
    cases += [(f"raw {r[:30]!r}", r, False) for r in [
           b'{"a": 1, "a": 2}', b'{"a": NaN}', b'{"a": -Infinity}', b"[1]", b'"x"', b"",
           b"\xef\xbb\xbf{}", b"\xff{}", b'{"a": "\xed\xa0\x80"}', b"{} {}", b"{", b"{,}",
           b'{"a": 01}', b'{"a": 1.}', b'{"a": "\\x"}', b'{"a": "\t"}', b'{"a": "\\ud800"}',
           b'{"a":' + b"[" * 100 + b"]" * 100 + b"}",
           b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"]]
    cases += [(f"text {r[:30]!r}", r.encode(), True) for r in [
           " \r\n\t" + text.replace('"format"', '"form\\u0061t"'),
           text.replace('"format"', '"format": "x", "form\\u0061t"'),
           text.replace("[1, 0]", "[1, -0]"), text.replace("[1, 0]", "[1, 0e0]"),
           text.replace('"sdk_version"', '"x": 1e400, "y": -1e400, "z": 1e-400, "sdk_version"'),
           text.replace('"RGB"', '"\\ud83d\\ude00 \\udc00 \\/ \\u00e9 é"'),
           text.replace('"det_64"', '"det\\u005f64"')]]
    return cases


def test_manifest_json_and_schema_checks_agree(tmp_path: Path, small_bundle: Path):
    path = tmp_path / "crafted.engine"
    _, body = _body(small_bundle)
    moved = {offset + 16384: b for offset, b in body.items()}  # room for long manifests
    table = json.dumps([{"name": n, "offset": o, "size": len(b), "media_type": "x/y",
                         "sha256": hashlib.sha256(b).hexdigest()}
                        for n, (o, b) in zip(BLOBS, moved.items())]).encode()
    accepted = 0
    for what, raw, add_table in _manifest_cases():
        if add_table:
            raw = raw.rstrip()[:-1] + b', "blobs": ' + table + b"}"
        path.write_bytes(_seal(raw, moved))
        accepted += _assert_agree(path, what) is None
    assert accepted >= 5


def test_random_manifest_mutations_agree(tmp_path: Path, small_bundle: Path):
    """Random edits of the manifest text, re-sealed: the same verdict from both readers."""
    path = tmp_path / "fuzz.engine"
    text, body = _body(small_bundle)
    room = min(body) - 64
    rng = random.Random(5)
    alphabet = list(b'{}[]",:0123456789-+.eE \\u') + [0x80, 0xC3, 0xFF, 0xA9, 0xED, 0xA0]
    verdicts = {True: 0, False: 0}
    for _ in range(1500):
        t = bytearray(text)
        for _ in range(rng.randint(1, 3)):
            at, op = rng.randrange(len(t)), rng.randrange(4)
            if op == 0:
                del t[at:at + rng.randint(1, 8)]
            elif op == 1:
                t.insert(at, rng.choice(alphabet))
            elif op == 2:
                t[at] = rng.choice(alphabet)
            else:
                j = rng.randrange(len(t))
                t[at:at] = t[j:j + rng.randint(1, 20)]
        if len(t) > room:
            continue
        path.write_bytes(_seal(bytes(t), body))
        verdicts[_assert_agree(path, f"manifest {bytes(t)!r}") is None] += 1
    assert verdicts[True] > 20 and verdicts[False] > 500


def test_header_fields_and_verify_false(small_bundle: Path, tmp_path: Path):
    text, body = _body(small_bundle)
    path = tmp_path / "v.engine"
    path.write_bytes(_seal(text.replace(b"[1, 0]", b"[1, 3]").replace(b"[1,0]", b"[1,3]"),
                           body, version=(1, 3)))
    assert _core.BundleReader(path).version == (1, 3) and _py_outcome(path) is None
    path.write_bytes(_seal(text, body, version=(2, 0)))
    assert _assert_agree(path, "major 2") == _py_outcome(path)
    assert "unsupported format version 2.0" in _cpp_outcome(path)
    data = bytearray(small_bundle.read_bytes())
    offset = min(o for o, b in body.items() if b)
    data[offset + 3] ^= 0x10
    path.write_bytes(data)
    assert _cpp_outcome(path) == _py_outcome(path)
    lazy = _core.BundleReader(path, verify=False)
    with pytest.raises(argus_edge.BundleError, match="SHA-256 mismatch"):
        lazy.verify()


def test_missing_and_unreadable_files(tmp_path: Path):
    missing = tmp_path / "missing.engine"
    with pytest.raises(argus_edge.BundleNotFoundError) as e:
        _core.BundleReader(missing)
    assert isinstance(e.value, FileNotFoundError) and e.value.filename == str(missing)
    assert str(e.value) == f"{missing}: no such bundle file" == _py_outcome(missing)
    with pytest.raises(argus_edge.BundleError, match="cannot read the bundle"):
        _core.BundleReader(tmp_path)
    for name, data in [("empty.engine", b""), ("text.engine", b"hello world")]:
        (tmp_path / name).write_bytes(data)
        assert _cpp_outcome(tmp_path / name) == _py_outcome(tmp_path / name)


def test_exported_tiny_bundle(tiny_bundle: Path):
    """The exporter's real bundle (built once per session by the conftest fixture)."""
    reader = _core.BundleReader(tiny_bundle)
    with read_bundle(tiny_bundle) as ref:
        assert json.loads(reader.manifest_json) == ref.manifest
        assert reader.blob_names() == ref.blob_names()
        assert reader.sha256 == ref.sha256
        for name in ref.blob_names():
            assert reader.blob(name) == ref.blob(name)
