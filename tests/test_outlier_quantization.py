"""INT8 on a ViT whose LayerNorm outputs carry outlier channels ~1000× the median channel.

The test model is :mod:`argus_edge.export.quantization.outliers`: argus_tiny's ViT (random
weights, LayerScale 384/96 = 4), three channels of every block's ``norm1`` / ``norm2``
output made 1000× the median channel's mean magnitude, compensated in the ``qkv`` /
``fc1`` weights so that FP32 computes what it did. argus_tiny, not argus_small: exporting
argus_small's ViT takes 23–50 s here and one NNCF pass on it 30–40 s, over this file's
budget; the argus_small figures are in docs/quantization.md ("Outlier channels"),
measured by ``benchmarks/quant_outliers.py``.

Measured here (4 calibration + 4 other images, ViT at 112 px, cosine of the output tokens
vs FP32 on the same runtime): ``quantize_openvino``'s default (SmoothQuant folded into the
LayerNorms) 0.9988; naive per-tensor INT8 0.899 on OpenVINO and on both ONNX Runtime QDQ
flavours; NNCF's own SmoothQuant 0.95 0.9959; the QDQ flavours on the folded graph 0.9997.
The outliers measure 1000–1430× the median (max-based) before folding, ≤ 1.4× after.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("openvino")
pytest.importorskip("nncf")

from argus_edge._preprocess import preprocess
from argus_edge.export.quantization import (
    S8S8_SYMMETRIC,
    U8S8,
    feeds_for_graphs,
    quantize_onnxruntime,
    quantize_openvino,
)
from argus_edge.export.quantization._runners import (
    OrtRunner,
    OvRunner,
    collect_outputs,
    error_stats,
)
from argus_edge.export.quantization.method import describe_openvino
from argus_edge.export.quantization.outliers import (
    channel_magnitudes,
    export_vit,
    make_outlier_model,
    outlier_ratios,
)
from argus_edge.export.quantization.smoothing import smooth_layernorms

pytestmark = pytest.mark.openvino

SIZE = (128, 128)  # the model's input; its ViT sees 112×112 (8×8 patches)
VIT_SIZE = (112, 112)
RATIO = 1000.0


def _images() -> list[np.ndarray]:
    from skimage import data

    colour = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(),
              data.hubble_deep_field(), data.immunohistochemistry(), data.colorwheel()]
    return colour + [np.repeat(data.camera()[..., None], 3, axis=2)]


@pytest.fixture(scope="module")
def outlier_vit(tmp_path_factory):
    """(model, injection, ONNX path of its ViT, calibration feeds, validation feeds,
    validation images as a torch batch)."""
    images = _images()
    batch = torch.from_numpy(np.stack([preprocess(im, VIT_SIZE)[0] for im in images]))
    model, injection = make_outlier_model("argus_tiny", SIZE, images=batch[:4], ratio=RATIO)
    path = export_vit(model, VIT_SIZE, tmp_path_factory.mktemp("outliers") / "vit.onnx")
    feeds = list(feeds_for_graphs({"vit": path}, images)["vit"])
    return model, injection, path, feeds[:4], feeds[4:], batch[4:]


def test_outlier_channels_are_1000x_the_median_and_fp32_is_unchanged(outlier_vit):
    model, injection, _, _, _, held_out = outlier_vit
    assert len(injection.factors) == 2 * len(model.vit.blocks)
    for ratios in injection.ratios.values():  # on the images the factors came from
        assert all(abs(r - RATIO) < 0.05 * RATIO for r in ratios), ratios
    # on other images: still ~1000x, in every block LayerNorm's output (= the MatMul input)
    measured = outlier_ratios(channel_magnitudes(model.vit, held_out), injection.channels)
    assert all(RATIO / 2 < r < 2 * RATIO for rs in measured.values() for r in rs), measured
    reference, none = make_outlier_model("argus_tiny", SIZE, ratio=None)
    assert none is None
    with torch.no_grad():
        got, want = model.vit._run_blocks(held_out), reference.vit._run_blocks(held_out)
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))


def _cosine(path, quantized, feeds, runner=OvRunner) -> float:
    ref = collect_outputs(runner(path), feeds)["tokens"]
    return error_stats(ref, collect_outputs(runner(quantized), feeds)["tokens"])["cosine"]


def test_default_openvino_int8_holds_the_outliers_naive_int8_does_not(outlier_vit):
    """quantize_openvino's default folds SmoothQuant into the LayerNorms (NNCF's own
    SmoothQuant off); naive = per-tensor activations, per-channel weights, no SmoothQuant
    of either kind, nothing kept float."""
    model, _, path, calib, val, _ = outlier_vit
    default = quantize_openvino(path, calib)
    naive = quantize_openvino(path, calib, smooth_quant=False, layernorm_smoothing=None,
                              policy=None)
    cos_default, cos_naive = _cosine(path, default, val), _cosine(path, naive, val)
    assert cos_default >= 0.99, (cos_default, cos_naive)
    assert cos_naive < 0.99 and 1 - cos_naive > 5 * (1 - cos_default), (cos_default, cos_naive)
    folded, plain = describe_openvino(default), describe_openvino(naive)
    depth = len(model.vit.blocks)
    assert folded.layernorm_smoothing_alpha == 0.5 and folded.smoothed_layernorms == 2 * depth
    assert folded.smoothing() == f"folded into {2 * depth} LayerNorms (alpha 0.5)"
    assert plain.smoothing() == "off"
    for method in (folded, plain):
        assert method.per_channel_activations == 0 and method.activation_quantizers > 0
        assert method.per_channel_weights == method.weight_quantizers > 0
        assert method.float_layers == 0


def test_layernorm_smoothing_is_exact_and_rescues_the_qdq_backends(outlier_vit, tmp_path):
    """The folded graph computes the same tokens; its LayerNorm outputs are flat; ONNX
    Runtime QDQ (the onnxruntime and tensorrt backends, which have no SmoothQuant) collapses
    on the outliers and holds them once folded."""
    _, _, path, calib, val, _ = outlier_vit
    smoothed, folded = smooth_layernorms(path, calib)
    assert len(folded) == 8 and all(f.outlier_ratio > 300 for f in folded), folded
    assert all(f.smoothed_ratio < 5 for f in folded), folded
    ref = collect_outputs(OrtRunner(path), val)["tokens"]
    same = collect_outputs(OrtRunner(smoothed), val)["tokens"]
    assert error_stats(ref, same)["max_abs"] < 1e-4 * max(float(np.abs(r).max()) for r in ref)
    onnx.save(smoothed, str(tmp_path / "smoothed.onnx"))
    cosines = {}
    for name, model in (("plain", path), ("folded", tmp_path / "smoothed.onnx")):
        for flavour in (U8S8, S8S8_SYMMETRIC):
            qdq = quantize_onnxruntime(model, tmp_path / f"{name}_{flavour.name}.onnx", calib,
                                       flavour=flavour)
            cosines[name, flavour.name] = _cosine(path, qdq, val, OrtRunner)
    assert all(c < 0.99 for (name, _), c in cosines.items() if name == "plain"), cosines
    assert all(c >= 0.99 for (name, _), c in cosines.items() if name == "folded"), cosines
