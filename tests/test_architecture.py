"""The rules of docs/architecture.md, checked on the source tree: no layer compares task
names or backend names outside the files that define them (the task-key table of format
1.0 bundles; the backend registry and each backend's own files)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("python/argus_edge", "csrc", "export", "include")
SOURCES = ("*.py", "*.pyi", "*.cpp", "*.h", "*.hpp", "*.c", "*.cu")
#: the twelve task keys of the Argus paper (DESIGN.md §3)
TASK_KEYS = ("det", "inst", "sem", "pano", "pose", "cls", "depth", "normal", "edge", "parts",
             "sal", "anom")
#: the one file that knows task keys: how format 1.0 tasks (no kind) are read
TASK_ALLOWED = {"csrc/session/task_entry.cpp"}
#: the backend registry and the backends' own engine files
BACKEND_ALLOWED = {"python/argus_edge/backends.py", "csrc/backends/openvino_backend.cpp",
                   "csrc/backends/openvino_backend.h"}
BACKEND_ALLOWED_DIRS = ("csrc/backends/descriptors/",)


def _comparisons(names: tuple[str, ...]) -> re.Pattern:
    """A name compared with == / != / `in (...)` / `case`, in Python or C++."""
    alt = "|".join(re.escape(n) for n in names)
    lit = rf"""['"](?:{alt})['"]"""
    return re.compile(rf"""(?:==|!=)\s*{lit}|{lit}\s*(?:==|!=)"""
                      rf"""|\bin\s*[(\[{{][^)\]}}\n]*{lit}|\bcase\s+{lit}""")


def _code_lines(path: Path):
    """(number, line) of code, without comments and docstring-only lines."""
    in_doc = False
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        stripped = line.strip()
        if path.suffix in (".py", ".pyi") and stripped.count('"""') == 1:
            in_doc = not in_doc
            continue
        if in_doc or stripped.startswith(("#", "//", "/*", "*")):
            continue
        yield number, line.split("//")[0] if path.suffix not in (".py", ".pyi") else line


def _violations(pattern: re.Pattern, allowed: set[str], allowed_dirs: tuple[str, ...] = ()):
    found = []
    for layer in LAYERS:
        for glob in SOURCES:
            for path in (ROOT / layer).rglob(glob):
                rel = path.relative_to(ROOT).as_posix()
                if rel in allowed or rel.startswith(allowed_dirs):
                    continue
                found += [f"{rel}:{n}: {line.strip()}" for n, line in _code_lines(path)
                          if pattern.search(line)]
    return found


def test_no_layer_compares_task_names():
    assert _violations(_comparisons(TASK_KEYS), TASK_ALLOWED) == []


def test_no_layer_compares_backend_names():
    pytest.importorskip("argus_edge._core")
    from argus_edge import backends

    pattern = _comparisons(backends.names())
    assert _violations(pattern, BACKEND_ALLOWED, BACKEND_ALLOWED_DIRS) == []


def test_the_pattern_finds_what_it_should():
    p = _comparisons(("det", "openvino"))
    for line in ('if task == "det":', "x = 'det' != t", 'if t in ("sem", "det"):',
                 'b in ["openvino"]', 'case "det":', 'if (name == "openvino") {'):
        assert p.search(line), line
    for line in ('r = s.run(image, tasks=["det"])', 'key = "det"', '{"det", {"a", 1}}'):
        assert not p.search(line), line
