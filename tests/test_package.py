"""The installed package: torch-free runtime import, namespaces, the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_runtime_import_does_not_import_torch():
    r = _python("import argus_edge, sys; assert 'torch' not in sys.modules, 'torch imported'")
    assert r.returncode == 0, r.stderr


def test_runtime_works_when_torch_cannot_be_imported():
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np, argus_edge\n"
        "t, tf = argus_edge.preprocess(np.zeros((10, 20, 3), np.uint8), (32, 32))\n"
        "assert t.shape == (3, 32, 32)\n"
        "from argus_edge.cli import main\n"
        "assert main(['demo']) == 3\n"
    )
    r = _python(code)
    assert r.returncode == 0, r.stderr
    assert "missing dependency 'torch'" in r.stderr


def test_training_and_export_live_under_the_argus_edge_namespace():
    pytest.importorskip("torch")
    import argus_edge.export
    import argus_edge.training
    assert "argus_tiny" in argus_edge.training.list_models()
    assert argus_edge.export.__name__ == "argus_edge.export"


def test_public_errors_inherit_builtins():
    import argus_edge as ae
    assert issubclass(ae.InvalidArgumentError, ValueError)
    assert issubclass(ae.BundleError, ae.ArgusError)
    assert issubclass(ae.BackendUnavailableError, RuntimeError)
    assert issubclass(ae.UnknownTaskError, KeyError)


def test_cli_help_and_version():
    from argus_edge.cli import main
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert main([]) == 2


def test_cli_demo_bad_image_path(tmp_path, capsys):
    pytest.importorskip("torch")
    from argus_edge.cli import main
    bad = tmp_path / "not-an-image.png"
    bad.write_bytes(b"garbage")
    assert main(["demo", "--image", str(bad)]) == 1
    assert main(["demo", "--image", str(tmp_path / "missing.png")]) == 1
