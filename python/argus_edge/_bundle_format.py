"""The binary layout of ``.engine`` bundles and the checks a reader makes.

Pure functions over bytes, shared by the writer and the reader in ``bundle.py``. They
raise :class:`FormatError`, which the public functions turn into ``BundleError`` (reading)
or ``InvalidArgumentError`` (writing). ``docs/bundle_format.md`` is the specification;
each check below cites the rule it enforces.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

MAGIC = b"ARGUSENG"
TRAILER_MAGIC = b"ARGUSEND"
HEADER = struct.Struct("<8sHHIQQ32s")  # magic, major, minor, flags, offset, size, sha256
TRAILER = struct.Struct("<8sQ32s")  # magic, total file size, sha256 of the header
ALIGN = 64
WRITER_VERSION = (1, 0)  # what write_bundle writes for a manifest that names no version
#: the newest minor version of READER_MAJOR whose keys this SDK knows (the exporter writes
#: it: 1.1 adds the tasks' "kind", "results" and "needs")
LATEST_VERSION = (1, 1)
READER_MAJOR = 1  # the major version this reader understands (any minor)
FORMAT_NAME = "argus-engine"
MIN_SIZE = HEADER.size + TRAILER.size
REQUIRED_OBJECTS = ("model", "preprocess", "graphs", "tasks", "provenance")
_NAME_RE = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9._+\-]{0,254}")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_CREATED_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z")
_CHUNK = 1 << 20


class FormatError(ValueError):
    """A rule of the bundle format is broken (private; re-raised as a public error)."""


@dataclass(frozen=True)
class Header:
    """The 64-byte header at offset 0."""

    major: int
    minor: int
    flags: int
    manifest_offset: int
    manifest_size: int
    manifest_sha256: bytes

    def pack(self) -> bytes:
        """The 64 header bytes."""
        return HEADER.pack(MAGIC, self.major, self.minor, self.flags, self.manifest_offset,
                           self.manifest_size, self.manifest_sha256)


@dataclass(frozen=True)
class BlobInfo:
    """One entry of the manifest's ``"blobs"`` table.

    Attributes:
        name: unique name of the blob (``backbone_128x128.fp32.onnx``).
        offset: byte offset in the bundle file, a multiple of 64.
        size: length in bytes (may be 0).
        sha256: lowercase hex SHA-256 of the blob's bytes.
        media_type: what the bytes are (``application/x-onnx``, ...).
    """

    name: str
    offset: int
    size: int
    sha256: str
    media_type: str

    def to_json(self) -> dict[str, Any]:
        """The manifest entry."""
        return {"name": self.name, "offset": self.offset, "size": self.size,
                "sha256": self.sha256, "media_type": self.media_type}


def align(n: int) -> int:
    """``n`` rounded up to a multiple of 64."""
    return -(-n // ALIGN) * ALIGN


def pack_trailer(header: bytes, total_size: int) -> bytes:
    """The 48 trailer bytes for a file of ``total_size`` bytes with ``header``."""
    return TRAILER.pack(TRAILER_MAGIC, total_size, hashlib.sha256(header).digest())


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; NaN and infinities are refused (strict JSON)."""
    try:
        text = json.dumps(manifest, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise FormatError(f"manifest is not JSON-serialisable: {e}") from None
    return text.encode("utf-8")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise FormatError(f"manifest is not valid JSON: duplicate key {key!r}")
        obj[key] = value
    return obj


def _no_constants(name: str) -> None:
    raise FormatError(f"manifest is not valid JSON: {name} is not a JSON value")


def decode_manifest(data: bytes) -> dict[str, Any]:
    """Parses manifest bytes: strict UTF-8, strict JSON, no duplicate keys, an object."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys,
                           parse_constant=_no_constants)
    except UnicodeDecodeError as e:
        raise FormatError(f"manifest is not valid UTF-8: {e}") from None
    except json.JSONDecodeError as e:
        raise FormatError(f"manifest is not valid JSON: {e}") from None
    except RecursionError:
        raise FormatError("manifest is not valid JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise FormatError(f"manifest must be a JSON object, got {type(value).__name__}")
    if _depth(value) > MAX_JSON_DEPTH:
        raise FormatError(f"manifest is not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels")
    return value


#: deepest nesting a manifest may have (the C++ reader's limit; Python's own recursion
#: limit would otherwise decide, and differ between call sites)
MAX_JSON_DEPTH = 512


def _depth(value: Any) -> int:
    """Nesting depth of a decoded JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            stack.extend((c, d + 1) for c in children)
    return deepest


def check_blob_name(name: Any) -> None:
    """Blob names: 1-255 of ``A-Z a-z 0-9 . _ + -``, not starting with a dot."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise FormatError(f"unsafe blob name {name!r}: use 1-255 characters of A-Z a-z 0-9 "
                          "._+- not starting with '.' (no path separators)")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and not _is_int(value)):
        got = "it is missing or null" if value is None else f"got {type(value).__name__}"
        raise FormatError(f"{where} must be a JSON {_JSON_NAMES[kind]}, {got}")
    return value


_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "integer"}


def check_manifest(manifest: dict[str, Any], version: tuple[int, int]) -> None:
    """Checks the top-level keys (everything but ``"blobs"`` and the references)."""
    if manifest.get("format") != FORMAT_NAME:
        raise FormatError(f"'format' must be {FORMAT_NAME!r}, got {manifest.get('format')!r}")
    fv = manifest.get("format_version")
    if fv != list(version) or not all(_is_int(v) for v in fv):
        raise FormatError(f"'format_version' {fv!r} does not match the header's "
                          f"{list(version)}")
    _expect(manifest.get("sdk_version"), str, "'sdk_version'")
    created = _expect(manifest.get("created"), str, "'created'")
    if not _CREATED_RE.fullmatch(created):
        raise FormatError(f"'created' must be ISO 8601 UTC like 2026-11-22T17:00:00Z, "
                          f"got {created!r}")
    for key in REQUIRED_OBJECTS:
        _expect(manifest.get(key), dict, f"{key!r}")
    _expect(manifest["model"].get("name"), str, "'model.name'")
    _expect(manifest["model"].get("config"), dict, "'model.config'")


def check_references(manifest: dict[str, Any], blob_names: Collection[str]) -> None:
    """Graph variants name existing blobs; tasks name existing graphs."""
    graphs = manifest["graphs"]
    for gname, graph in graphs.items():
        where = f"graph {gname!r}"
        variants = _expect(_expect(graph, dict, where).get("variants"), dict,
                           f"{where} 'variants'")
        for vname, variant in variants.items():
            vwhere = f"{where} variant {vname!r}"
            _expect(variant, dict, vwhere)
            _expect(variant.get("backend"), str, f"{vwhere} 'backend'")
            _expect(variant.get("precision"), str, f"{vwhere} 'precision'")
            for role, blob in _expect(variant.get("blobs"), dict, f"{vwhere} 'blobs'").items():
                if not isinstance(blob, str) or blob not in blob_names:
                    raise FormatError(f"{vwhere} role {role!r} names blob {blob!r}, "
                                      "which the bundle does not contain")
    tasks = manifest["tasks"]
    for tname, task in tasks.items():
        _expect(task, dict, f"task {tname!r}")
        for key in ("graph", "backbone"):
            if key == "backbone" and "backbone" not in task:
                continue
            ref = task.get(key)
            if not isinstance(ref, str) or ref not in graphs:
                raise FormatError(f"task {tname!r} {key} {ref!r} is not an entry of 'graphs'")
        if "kind" in task:  # format 1.1
            _expect(task["kind"], str, f"task {tname!r} 'kind'")
        if "needs" in task:
            for i, need in enumerate(_expect(task["needs"], list, f"task {tname!r} 'needs'")):
                ref = _expect(need, dict, f"task {tname!r} needs[{i}]").get("task")
                if not isinstance(ref, str) or ref not in tasks:
                    raise FormatError(f"task {tname!r} needs[{i}] task {ref!r} is not an "
                                      "entry of 'tasks'")


def parse_blob_table(table: Any) -> list[BlobInfo]:
    """The ``"blobs"`` array as :class:`BlobInfo` entries (types, names, uniqueness)."""
    entries, seen = [], set()
    for i, item in enumerate(_expect(table, list, "'blobs'")):
        where = f"blobs[{i}]"
        _expect(item, dict, where)
        values = [_expect(item.get(key), kind, f"{where} {key!r}") for key, kind in
                  (("name", str), ("offset", int), ("size", int), ("sha256", str),
                   ("media_type", str))]
        info = BlobInfo(*values)
        check_blob_name(info.name)
        if info.name in seen:
            raise FormatError(f"duplicate blob name {info.name!r}")
        if info.offset < 0 or info.size < 0:
            raise FormatError(f"blob {info.name!r} has a negative offset or size")
        if not _SHA_RE.fullmatch(info.sha256):
            raise FormatError(f"blob {info.name!r} 'sha256' is not 64 lowercase hex digits")
        seen.add(info.name)
        entries.append(info)
    return entries


def blob_region_end(entries: Sequence[BlobInfo], manifest_end: int) -> int:
    """Checks order and alignment; returns where the last part (blob or manifest) ends."""
    end = manifest_end
    for info in entries:
        if info.offset % ALIGN:
            raise FormatError(f"blob {info.name!r} offset {info.offset} is not a multiple "
                              f"of {ALIGN}")
        if info.offset < end:
            raise FormatError(f"blob {info.name!r} at offset {info.offset} overlaps the "
                              f"previous part or is out of offset order (which ends at {end})")
        end = info.offset + info.size
    return end


def parse_header(data: bytes | memoryview, file_size: int) -> Header:
    """The first 64 bytes decoded, after checking the magic and the minimum size."""
    head = bytes(data[:HEADER.size])
    if len(head) >= len(MAGIC) and head[:len(MAGIC)] != MAGIC:
        raise FormatError(f"bad magic {head[:len(MAGIC)]!r}: not an Argus .engine bundle "
                          f"(expected {MAGIC!r})")
    if file_size < MIN_SIZE:
        raise FormatError(f"truncated: file has {file_size} bytes, a bundle has at least "
                          f"{MIN_SIZE}")
    return Header(*HEADER.unpack(head)[1:])


def check_version(header: Header) -> None:
    """Any minor version of the major version this reader knows."""
    if header.major != READER_MAJOR:
        raise FormatError(f"unsupported format version {header.major}.{header.minor} (this "
                          f"reader supports {READER_MAJOR}.x)")


def check_trailer(data: bytes | memoryview, file_size: int) -> None:
    """The last 48 bytes: magic, the file's size, the SHA-256 of the header."""
    magic, size, header_sha = TRAILER.unpack(bytes(data[file_size - TRAILER.size:]))
    if magic != TRAILER_MAGIC:
        raise FormatError(f"bad trailer magic {magic!r} (expected {TRAILER_MAGIC!r})")
    if size != file_size:
        raise FormatError(f"trailer records a file size of {size} bytes, the file has "
                          f"{file_size}")
    if hashlib.sha256(data[:HEADER.size]).digest() != header_sha:
        raise FormatError("header SHA-256 mismatch (corrupt or tampered)")


def check_header_fields(header: Header, file_size: int) -> None:
    """Reserved flags, the manifest's offset, and that the manifest fits in the file."""
    if header.flags:
        raise FormatError(f"unsupported header flags 0x{header.flags:08x} (reserved, "
                          "must be 0)")
    if header.manifest_offset != HEADER.size:
        raise FormatError(f"manifest offset {header.manifest_offset} must be {HEADER.size}")
    needed = align(HEADER.size + header.manifest_size) + TRAILER.size
    if file_size < needed:
        raise FormatError(f"truncated: expected at least {needed} bytes, file has "
                          f"{file_size}")


def first_nonzero(data: memoryview, start: int, end: int) -> int | None:
    """Offset of the first non-zero byte in ``data[start:end]``, or None."""
    pos = start
    while pos < end:
        chunk = bytes(data[pos:min(end, pos + _CHUNK)])
        rest = chunk.lstrip(b"\0")
        if rest:
            return pos + len(chunk) - len(rest)
        pos += len(chunk)
    return None


def sha256_hex(data: memoryview, start: int, end: int) -> str:
    """Hex SHA-256 of ``data[start:end]``, in chunks (no copy of the whole range)."""
    h = hashlib.sha256()
    for pos in range(start, end, 64 * _CHUNK):
        h.update(data[pos:min(end, pos + 64 * _CHUNK)])
    return h.hexdigest()


def plan_layout(doc: dict[str, Any], blobs: list[BlobInfo]) -> tuple[list[BlobInfo], int]:
    """Blob offsets and the manifest's size (a fixed point: the manifest holds offsets)."""
    first = align(HEADER.size + len(encode_manifest(doc)))
    while True:
        placed, pos = [], first
        for info in blobs:
            offset = align(pos)
            placed.append(BlobInfo(info.name, offset, info.size, info.sha256, info.media_type))
            pos = offset + info.size
        size = len(encode_manifest({**doc, "blobs": [i.to_json() for i in placed]}))
        if HEADER.size + size <= first:
            return placed, size
        first = align(HEADER.size + size)


def tail_matches(data: memoryview, size: int) -> bool:
    """Whether the last 48 bytes start like this file's trailer (magic, own size)."""
    magic, recorded, _ = TRAILER.unpack(bytes(data[size - TRAILER.size:size]))
    return magic == TRAILER_MAGIC and recorded == size


def check_size(expected: int, size: int) -> None:
    """The file size the manifest implies against the real one."""
    if size < expected:
        raise FormatError(f"truncated: expected {expected} bytes, file has {size}")
    if size > expected:
        raise FormatError(f"{size - expected} unexpected bytes after the end of the "
                          f"bundle (expected {expected} bytes, file has {size})")


def gaps(blobs: Sequence[BlobInfo], start: int, end: int) -> Iterator[tuple[int, int]]:
    """The padding ranges between the manifest, the blobs and the trailer."""
    for info in blobs:
        if info.offset > start:
            yield start, info.offset
        start = info.offset + info.size
    if end > start:
        yield start, end

