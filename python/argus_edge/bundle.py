"""``.engine`` bundles: one self-describing, checksummed file per exported model.

A bundle holds a JSON manifest (preprocessing, graphs, tasks, provenance) and binary blobs
(ONNX graphs, OpenVINO IR, TensorRT plans). Every byte is covered by a SHA-256 or must be
zero, so any corruption, truncation or tampering is an error naming what is wrong. Reading
never executes code. The layout is specified in ``docs/bundle_format.md``.

    >>> write_bundle("model.engine", manifest, {"det.onnx": Path("det.onnx")})
    >>> with read_bundle("model.engine") as bundle:
    ...     onnx_bytes = bundle.blob("det.onnx")
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
import secrets
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import IO, Any, BinaryIO

from . import _bundle_format as fmt
from ._bundle_format import BlobInfo
from ._errors import BundleError, BundleNotFoundError, InvalidArgumentError
from ._version import __version__

from ._bundle_describe import describe_open

__all__ = ["BlobInfo", "Bundle", "describe", "read_bundle", "write_bundle"]

_MEDIA_TYPES = {".onnx": "application/x-onnx", ".xml": "application/xml",
                ".json": "application/json", ".plan": "application/x-tensorrt-plan",
                ".trt": "application/x-tensorrt-plan"}
_COPY_CHUNK = 1 << 20


class Bundle:
    """A read-only, memory-mapped ``.engine`` bundle.

    Use :func:`read_bundle` or :meth:`Bundle.open`, preferably as a context manager so
    the mapping is closed deterministically. Views returned by :meth:`blob` stay valid
    until they are released, even after :meth:`close`.

    Attributes:
        path: the bundle file.
        manifest: the parsed manifest (treat as read-only).
        version: ``(major, minor)`` format version of the file.
        blobs: the manifest's blob table, in offset order.
    """

    def __init__(self, path: str | os.PathLike, *, verify: bool = True) -> None:
        """Opens and checks a bundle; same as :meth:`Bundle.open`."""
        self.path = Path(path)
        self._mmap, self._size = _map_file(self.path)
        self._view = memoryview(self._mmap)
        try:
            header, self.manifest, blobs, self._trailer_at = self._check_structure()
            self.blobs: tuple[BlobInfo, ...] = tuple(blobs)
            self._manifest_end = fmt.HEADER.size + header.manifest_size
            self.version = (header.major, header.minor)
            self._by_name = {info.name: info for info in self.blobs}
            if verify:
                self.verify()
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path: str | os.PathLike, *, verify: bool = True) -> Bundle:
        """Opens a bundle.

        Args:
            path: the ``.engine`` file.
            verify: also check the zero padding and every blob's SHA-256 (reads the whole
                file once). Without it only the header, trailer, manifest and layout are
                checked; loaders always verify.

        Returns:
            The open bundle.

        Raises:
            BundleNotFoundError: the file does not exist (also a ``FileNotFoundError``).
            BundleError: the file is not a valid bundle; the message says what is wrong.
        """
        return cls(path, verify=verify)

    def _fail(self, message: str) -> BundleError:
        return BundleError(f"{self.path}: {message}")

    def _check_structure(self) -> tuple[fmt.Header, dict[str, Any], list[BlobInfo], int]:
        data, size = self._view, self._size
        try:
            header = fmt.parse_header(data, size)
            trailer_intact = size >= fmt.MIN_SIZE and fmt.tail_matches(data, size)
            if trailer_intact:  # authenticate the header before trusting its fields
                fmt.check_trailer(data, size)
            fmt.check_version(header)
            fmt.check_header_fields(header, size)
            manifest_end = fmt.HEADER.size + header.manifest_size
            digest = fmt.sha256_hex(data, fmt.HEADER.size, manifest_end)
            if digest != header.manifest_sha256.hex():
                raise fmt.FormatError("manifest SHA-256 mismatch (corrupt or tampered)")
            manifest = fmt.decode_manifest(bytes(data[fmt.HEADER.size:manifest_end]))
            fmt.check_manifest(manifest, (header.major, header.minor))
            entries = fmt.parse_blob_table(manifest.get("blobs"))
            fmt.check_references(manifest, {info.name for info in entries})
            trailer_at = fmt.align(fmt.blob_region_end(entries, manifest_end))
            fmt.check_size(trailer_at + fmt.TRAILER.size, size)
            if not trailer_intact:
                fmt.check_trailer(data, size)
        except fmt.FormatError as e:
            raise self._fail(str(e)) from None
        return header, manifest, entries, trailer_at

    def verify(self) -> None:
        """Checks that every padding byte is zero and every blob matches its SHA-256.

        Raises:
            BundleError: naming the first non-zero padding byte or corrupt blob.
        """
        self._require_open()
        for start, end in fmt.gaps(self.blobs, self._manifest_end, self._trailer_at):
            bad = fmt.first_nonzero(self._view, start, end)
            if bad is not None:
                raise self._fail(f"non-zero padding at offset {bad}")
        for info in self.blobs:
            if fmt.sha256_hex(self._view, info.offset, info.offset + info.size) != info.sha256:
                raise self._fail(f"blob {info.name!r} SHA-256 mismatch (corrupt or tampered)")

    @property
    def graphs(self) -> dict[str, Any]:
        """The manifest's ``"graphs"`` object."""
        return self.manifest["graphs"]

    @property
    def tasks(self) -> dict[str, Any]:
        """The manifest's ``"tasks"`` object."""
        return self.manifest["tasks"]

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return self._size

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._view is None

    @cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of the whole file (for provenance records)."""
        self._require_open()
        return fmt.sha256_hex(self._view, 0, self._size)

    def blob_names(self) -> list[str]:
        """Names of the blobs, in file order."""
        return [info.name for info in self.blobs]

    def blob_info(self, name: str) -> BlobInfo:
        """The table entry of blob ``name``.

        Raises:
            InvalidArgumentError: the bundle has no blob of that name.
        """
        info = self._by_name.get(name)
        if info is None:
            raise InvalidArgumentError(f"{self.path}: no blob named {name!r} (blobs: "
                                       f"{', '.join(self.blob_names()) or 'none'})")
        return info

    def blob(self, name: str) -> memoryview:
        """A read-only, zero-copy view of blob ``name`` (``bytes(view)`` copies it).

        Raises:
            InvalidArgumentError: the bundle has no blob of that name.
            BundleError: the bundle is closed.
        """
        info = self.blob_info(name)
        self._require_open()
        return self._view[info.offset:info.offset + info.size]

    def blob_to_file(self, name: str, path: str | os.PathLike) -> Path:
        """Writes blob ``name`` to ``path`` atomically, checking its SHA-256 on the way.

        Returns:
            ``path`` as a :class:`~pathlib.Path`.

        Raises:
            InvalidArgumentError: the bundle has no blob of that name.
            BundleError: the blob's bytes do not match its SHA-256.
        """
        info = self.blob_info(name)
        self._require_open()
        target = Path(path)
        with _atomic_output(target) as out:
            digest = hashlib.sha256()
            for pos in range(info.offset, info.offset + info.size, _COPY_CHUNK):
                chunk = self._view[pos:min(info.offset + info.size, pos + _COPY_CHUNK)]
                digest.update(chunk)
                out.write(chunk)
                chunk.release()
            if digest.hexdigest() != info.sha256:
                raise self._fail(f"blob {name!r} SHA-256 mismatch (corrupt or tampered)")
        return target

    def close(self) -> None:
        """Releases the mapping (idempotent). Outstanding blob views keep it alive."""
        view, self._view = getattr(self, "_view", None), None
        if view is not None:
            view.release()
        with contextlib.suppress(BufferError):  # blob views still exported
            self._mmap.close()

    def _require_open(self) -> None:
        if self._view is None:
            raise self._fail("the bundle is closed")

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Bundle({str(self.path)!r}, version={self.version[0]}.{self.version[1]}, "
                f"blobs={len(self.blobs)}, closed={self.closed})")


def read_bundle(path: str | os.PathLike, verify: bool = True) -> Bundle:
    """Opens and verifies a bundle: see :meth:`Bundle.open`."""
    return Bundle(path, verify=verify)


def describe(bundle: Bundle | str | os.PathLike) -> str:
    """A human-readable summary of a bundle (what ``argus-edge info`` prints).

    Args:
        bundle: an open :class:`Bundle`, or the path of one (opened and verified here).

    Returns:
        Several lines: format and provenance, model, preprocessing, every task with its
        decoder kind, graph and parameters, every graph with its variants and blob sizes.

    Raises:
        BundleError: ``bundle`` is a path to an invalid bundle.
    """
    if isinstance(bundle, Bundle):
        return describe_open(bundle)
    with read_bundle(bundle) as opened:
        return describe_open(opened)


def write_bundle(path: str | os.PathLike, manifest: Mapping[str, Any],
                 blobs: Mapping[str, bytes | os.PathLike], *,
                 media_types: Mapping[str, str] | None = None,
                 version: tuple[int, int] | None = None) -> Path:
    """Writes a bundle atomically: a crash never leaves a partial file under ``path``.

    The manifest is copied (the caller's dict is not modified); ``"format"``,
    ``"format_version"``, ``"sdk_version"`` and ``"created"`` are filled in when missing,
    and ``"blobs"`` is always computed here (any given one is replaced). File blobs are
    streamed (read once, never held in memory).

    Args:
        path: the ``.engine`` file to create or replace.
        manifest: the manifest content (see ``docs/bundle_format.md``).
        blobs: blob name → its bytes (any bytes-like object) or a file path
            (``os.PathLike``; a plain ``str`` is refused as ambiguous). Written in this order.
        media_types: blob name → media type, overriding the guess from the extension
            (``.onnx`` → ``application/x-onnx``, otherwise ``application/octet-stream``).
        version: the format version to write, ``(1, minor)``; default 1.0. A manifest
            that uses the keys of a later minor version names it here (the exporter
            writes :data:`~argus_edge._bundle_format.LATEST_VERSION`, 1.1); the
            manifest's ``"format_version"``, when given, must equal it.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InvalidArgumentError: the manifest breaks the schema, a blob name is unsafe, or a
            blob is neither bytes-like nor a path.
        FileNotFoundError: a blob's file does not exist.
        OSError: the bundle cannot be written (nothing is left behind).
    """
    target = Path(path)
    version = _writer_version(version)
    sources = _blob_sources(blobs)
    try:
        doc = _prepare_manifest(manifest, version)
        fmt.check_manifest(doc, version)
        fmt.check_references(doc, blobs.keys())
    except fmt.FormatError as e:
        raise InvalidArgumentError(f"invalid manifest: {e}") from None
    media_types = media_types or {}
    planned = [BlobInfo(name, 0, size, "0" * 64,
                        media_types.get(name) or _MEDIA_TYPES.get(Path(name).suffix.lower(),
                                                                  "application/octet-stream"))
               for name, _, size in sources]
    planned, manifest_size = fmt.plan_layout(doc, planned)
    with _atomic_output(target) as out:
        out.write(bytes(fmt.align(fmt.HEADER.size + manifest_size)))  # rewritten below
        written = [_write_blob(out, info, source) for info, (_, source, _) in
                   zip(planned, sources)]
        trailer_at = fmt.align(out.tell())
        out.write(bytes(trailer_at - out.tell()))
        manifest_bytes = fmt.encode_manifest({**doc, "blobs": [i.to_json() for i in written]})
        if len(manifest_bytes) != manifest_size:  # hashes have a fixed length: cannot happen
            raise AssertionError("manifest size changed after hashing the blobs")
        header = fmt.Header(*version, 0, fmt.HEADER.size, manifest_size,
                            hashlib.sha256(manifest_bytes).digest()).pack()
        out.seek(0)
        out.write(header + manifest_bytes)
        out.seek(trailer_at)
        out.write(fmt.pack_trailer(header, trailer_at + fmt.TRAILER.size))
    return target


def _blob_sources(blobs: Mapping[str, Any]) -> list[tuple[str, Path | memoryview, int]]:
    """(name, file path or byte view, size) per blob, checking names and types."""
    if not isinstance(blobs, Mapping):
        raise InvalidArgumentError(f"blobs must be a mapping name → bytes or path, got "
                                   f"{type(blobs).__name__}")
    sources: list[tuple[str, Path | memoryview, int]] = []
    for name, value in blobs.items():
        try:
            fmt.check_blob_name(name)
        except fmt.FormatError as e:
            raise InvalidArgumentError(str(e)) from None
        if isinstance(value, os.PathLike):
            file = Path(value)
            if not file.exists():
                raise FileNotFoundError(errno.ENOENT, f"blob {name!r}: no such file",
                                        str(file))
            if not file.is_file():
                raise InvalidArgumentError(f"blob {name!r}: {file} is not a regular file")
            sources.append((name, file, file.stat().st_size))
            continue
        try:
            view = memoryview(value).cast("B")
        except TypeError:
            raise InvalidArgumentError(
                f"blob {name!r} must be bytes-like or an os.PathLike, got "
                f"{type(value).__name__} (pass a pathlib.Path for a file)") from None
        sources.append((name, view, view.nbytes))
    return sources


def _writer_version(version: tuple[int, int] | None) -> tuple[int, int]:
    if version is None:
        return fmt.WRITER_VERSION
    ok = (isinstance(version, (tuple, list)) and len(version) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in version)
          and version[0] == fmt.READER_MAJOR and 0 <= version[1] <= 0xFFFF)
    if not ok:
        raise InvalidArgumentError(f"version must be ({fmt.READER_MAJOR}, minor), got {version!r}")
    return int(version[0]), int(version[1])


def _prepare_manifest(manifest: Mapping[str, Any], version: tuple[int, int]) -> dict[str, Any]:
    """A JSON-checked deep copy with the writer's defaults and without ``"blobs"``."""
    if not isinstance(manifest, Mapping):
        raise fmt.FormatError(f"must be a mapping, got {type(manifest).__name__}")
    given = fmt.decode_manifest(fmt.encode_manifest(dict(manifest)))
    given.pop("blobs", None)
    return {"format": fmt.FORMAT_NAME, "format_version": list(version),
            "sdk_version": __version__,
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **given}



def _write_blob(out: BinaryIO, info: BlobInfo, source: Path | memoryview) -> BlobInfo:
    """Writes zero padding up to the blob, then the blob; returns it with its SHA-256."""
    out.write(bytes(info.offset - out.tell()))
    digest, count = hashlib.sha256(), 0
    if isinstance(source, Path):
        buffer = bytearray(_COPY_CHUNK)
        with open(source, "rb") as f, memoryview(buffer) as view:
            while n := f.readinto(buffer):
                digest.update(view[:n])
                out.write(view[:n])
                count += n
    else:
        digest.update(source)
        out.write(source)
        count = source.nbytes
    if count != info.size:
        raise InvalidArgumentError(f"blob {info.name!r}: {source} changed size while being "
                                   f"written ({info.size} → {count} bytes)")
    return BlobInfo(info.name, info.offset, info.size, digest.hexdigest(), info.media_type)


@contextlib.contextmanager
def _atomic_output(target: Path) -> Iterator[IO[bytes]]:
    """A new file beside ``target``, fsynced and renamed over it only on success."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename durable (POSIX)
        dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _map_file(path: Path) -> tuple[mmap.mmap, int]:
    """A read-only mapping of the whole file and its size."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < fmt.MIN_SIZE:  # also: mmap cannot map an empty file
                try:
                    fmt.parse_header(f.read(), size)  # raises: bad magic or truncated
                except fmt.FormatError as e:
                    raise BundleError(f"{path}: {e}") from None
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), size
    except FileNotFoundError:
        raise BundleNotFoundError(f"{path}: no such bundle file", str(path)) from None
    except OSError as e:
        raise BundleError(f"{path}: cannot read the bundle: {e.strerror or e}") from None
