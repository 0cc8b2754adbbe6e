"""Every way a user can hand the Session something wrong gets a typed error, never a crash.

Each case checks the argus_edge class *and* the builtin it also inherits, and that the
Session keeps working afterwards (the process and the session survive).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino")

from argus_edge import (  # noqa: E402
    ArgusError,
    BackendUnavailableError,
    BundleError,
    BundleNotFoundError,
    ImageError,
    InvalidArgumentError,
    Session,
    UnknownTaskError,
)

OK_IMAGE = np.full((40, 60, 3), 127, np.uint8)


@pytest.fixture(scope="module")
def session(tiny_bundle) -> Session:
    return Session(tiny_bundle)


def _copy(bundle: Path, tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    shutil.copyfile(bundle, out)
    return out


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


BUNDLE_CASES = ("missing", "truncated", "empty", "bit flip in a blob", "tampered manifest",
                "not a bundle", "a folder")


def _bad_bundle(case: str, bundle: Path, tmp_path: Path) -> Path:
    if case == "missing":
        return tmp_path / "nope.engine"
    if case == "a folder":
        return tmp_path
    path = _copy(bundle, tmp_path, "bad.engine")
    data = path.read_bytes()
    if case == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "bit flip in a blob":
        _flip(path, len(data) // 2)
    elif case == "tampered manifest":
        _flip(path, 100)                      # inside the JSON manifest, after the header
    elif case == "not a bundle":
        path.write_bytes(b"\x89PNG" + bytes(200))
    return path


@pytest.mark.parametrize("case", BUNDLE_CASES)
def test_bad_bundles(tiny_bundle, tmp_path, case):
    path = _bad_bundle(case, tiny_bundle, tmp_path)
    with pytest.raises(BundleError) as e:
        Session(path)
    assert isinstance(e.value, ValueError) and str(e.value)
    if case == "missing":
        assert isinstance(e.value, BundleNotFoundError)
        assert isinstance(e.value, FileNotFoundError)


IMAGE_CASES = {
    "float32 array": (np.zeros((8, 8, 3), np.float32), "dtype must be uint8"),
    "int64 array": (np.zeros((8, 8, 3), np.int64), "dtype must be uint8"),
    "five channels": (np.zeros((8, 8, 5), np.uint8), "shape"),
    "4-D of wrong channels": (np.zeros((1, 8, 8, 2), np.uint8), "shape"),
    "zero height": (np.zeros((0, 8, 3), np.uint8), "empty"),
    "zero width": (np.zeros((8, 0, 3), np.uint8), "empty"),
    "a number": (42, "path, a PIL image or a numpy array"),
    "None": (None, "path, a PIL image or a numpy array"),
    "a dict": ({"x": 1}, "path, a PIL image or a numpy array"),
    "1-D array": (np.zeros(12, np.uint8), "shape"),
}


@pytest.mark.parametrize("case", sorted(IMAGE_CASES))
def test_bad_images(session, case):
    image, match = IMAGE_CASES[case]
    with pytest.raises(ImageError, match=match) as e:
        session.run(image, tasks=["det"])
    assert isinstance(e.value, ValueError) and isinstance(e.value, ArgusError)
    assert len(session.run(OK_IMAGE, tasks=["det"]).det.boxes.shape) == 2  # still works


def test_bad_image_files(session, tmp_path):
    with pytest.raises(ImageError, match="does not exist") as e:
        session.run(tmp_path / "missing.jpg")
    assert isinstance(e.value, FileNotFoundError)
    (tmp_path / "text.jpg").write_text("not a jpeg")
    with pytest.raises(ImageError, match="cannot read image"):
        session.run(str(tmp_path / "text.jpg"))
    from PIL import Image
    Image.fromarray(OK_IMAGE).save(tmp_path / "cut.png")
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError):
        session.run(tmp_path / "cut.png")
    with pytest.raises(ImageError):
        session.run([OK_IMAGE, tmp_path / "missing.png"])   # one bad image fails the batch


def test_bad_tasks_and_arguments(session):
    with pytest.raises(UnknownTaskError, match="normal") as e:
        session.run(OK_IMAGE, tasks=["det", "normal"])
    assert isinstance(e.value, KeyError) and isinstance(e.value, ValueError)
    with pytest.raises(UnknownTaskError, match="no task requested"):
        session.run(OK_IMAGE, tasks=[])
    with pytest.raises(InvalidArgumentError, match="repeated"):
        session.run(OK_IMAGE, tasks=["det", "det"])
    with pytest.raises(InvalidArgumentError, match="strings"):
        session.run(OK_IMAGE, tasks=[3])
    with pytest.raises(InvalidArgumentError, match="color"):
        session.run(OK_IMAGE, tasks=["det"], color="YUV")
    with pytest.raises(InvalidArgumentError, match="empty list"):
        session.run([], tasks=["det"])
    with pytest.raises(UnknownTaskError):
        session.class_names("normal")


def test_bad_backends(tiny_bundle):
    with pytest.raises(BackendUnavailableError) as e:
        Session(tiny_bundle, backend="tensorrt")
    assert isinstance(e.value, RuntimeError)
    with pytest.raises(BackendUnavailableError, match="CPU only"):
        Session(tiny_bundle, backend="onnxruntime", device="GPU")
    with pytest.raises(InvalidArgumentError, match="precision"):
        Session(tiny_bundle, precision="int4")
    with pytest.raises(InvalidArgumentError, match="threads"):
        Session(tiny_bundle, threads=-1)


def test_closed_session(tiny_bundle):
    s = Session(tiny_bundle)
    s.close()
    with pytest.raises(InvalidArgumentError, match="closed"):
        s.run(OK_IMAGE, tasks=["det"])


def test_core_binding_rejects_bad_images_itself(session):
    """The C++ binding checks what it is given even without the Python layer."""
    core = session._core
    with pytest.raises(ImageError):
        core.run_batch([np.zeros((4, 4, 3), np.float32)], ["det"], "RGB")
    with pytest.raises(ImageError):
        core.run_batch([np.zeros((4, 4, 3), np.uint8)[:, ::2]], ["det"], "RGB")  # strided
    with pytest.raises(ImageError):
        core.run_batch(["not an array"], ["det"], "RGB")
    with pytest.raises(UnknownTaskError):
        core.run_batch([OK_IMAGE], ["nope"], "RGB")
    with pytest.raises(InvalidArgumentError):
        core.run_batch([], ["det"], "RGB")


def test_cli_exit_codes(tiny_bundle, tmp_path):
    """argus-edge run: 0 when every input ran, 1 with a clear message otherwise."""
    from PIL import Image
    Image.fromarray(OK_IMAGE).save(tmp_path / "ok.png")
    (tmp_path / "bad.png").write_text("nope")
    cli = [sys.executable, "-m", "argus_edge.cli"]
    ok = subprocess.run(cli + ["run", str(tiny_bundle), str(tmp_path / "ok.png"),
                               "--tasks", "det", "--quiet"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert '"det"' in ok.stdout
    mixed = subprocess.run(cli + ["run", str(tiny_bundle), str(tmp_path), "--quiet"],
                           capture_output=True, text=True, timeout=120)
    assert mixed.returncode == 1 and "cannot read image" in mixed.stderr
    assert mixed.stdout.count("\n") == 2            # both inputs have a JSON line
    missing = subprocess.run(cli + ["run", str(tmp_path / "x.engine"), str(tmp_path / "ok.png")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "no such bundle file" in missing.stderr
    task = subprocess.run(cli + ["run", str(tiny_bundle), str(tmp_path / "ok.png"),
                                 "--tasks", "normal"], capture_output=True, text=True, timeout=120)
    assert task.returncode == 1 and "normal" in task.stderr
