"""``argus-edge bench``: one model, every engine, in one run.

PyTorch eager FP32, ONNX Runtime FP32 and INT8, OpenVINO f32 / bf16 / INT8 and the
argus-edge Session (OpenVINO with the MSDeformSample deformable-attention kernel), each for single
tasks, for several tasks sharing one backbone run and for the same tasks as separate
models. Every configuration is timed in its own process (latency, throughput, peak RSS);
GFLOPs come from the PyTorch model. The methodology is in ``docs/benchmarks.md``.

- :mod:`._matrix`: engines and task sets (data);
- :mod:`._prepare`: model, input, graphs, INT8 graphs and Session bundles, made once;
- :mod:`._flops`: GFLOPs per backbone and head;
- :mod:`._worker`: the timed process (torch-free except for the PyTorch rows);
- :mod:`._run`: the orchestration;
- :mod:`._report`: JSON, Markdown and the PNG chart.
"""

from ._matrix import ENGINES, IMAGE_TASKS, Engine, TaskSet, task_sets
from ._report import markdown, plot, write_outputs
from ._run import BenchOptions, run_benchmark

__all__ = [
    "ENGINES",
    "IMAGE_TASKS",
    "BenchOptions",
    "Engine",
    "TaskSet",
    "markdown",
    "plot",
    "run_benchmark",
    "task_sets",
    "write_outputs",
]
