"""The contract every task head follows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

Features = Sequence[torch.Tensor]  # [f4, f8, f16, f32], each (B, C, H/s, W/s)


class TaskHead(nn.Module):
    """Base class of task heads.

    A head takes the adapter's four maps and returns a dict of raw tensors: exactly what
    the exported head graph outputs, before any post-processing. Training-only branches
    (e.g. UperNet's auxiliary FCN) add their outputs only in training mode.

    Subclasses implement:
        forward(feats) -> dict[str, Tensor]
        loss(outputs, targets) -> dict[str, Tensor] with the weighted total under "loss"
        predict(outputs, ...) -> per-image predictions (the reference post-processing)
    and say how the runtime decodes their outputs:
        decoder_kind: the runtime's decoder kind (``csrc/session/decoders/<kind>.cpp``)
        runtime_entry() -> the kind's fields of the bundle's task entry
        export_input_size(image_size) -> the size the exported graphs take
    """

    task: ClassVar[str] = ""
    #: the decoder's name among its task's decoders (None: the task has one, unnamed);
    #: set by :func:`~._registry.register_head` from the config's ``decoder`` field
    decoder: ClassVar[str | None] = None
    #: the runtime decoder kind that turns this head's outputs into results
    decoder_kind: ClassVar[str] = ""

    def runtime_entry(self) -> dict[str, Any]:
        """The kind's fields of this head's task entry in a bundle manifest
        (docs/bundle_format.md §3.5): ``"postprocess"`` (the kind's parameters), any
        other kind fields, and ``"needs"`` when the task needs other tasks' results."""
        return {"postprocess": {}}

    def export_input_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        """The input size of this head's exported graphs for images of ``image_size``
        (heads that run on crops have their own)."""
        return tuple(int(v) for v in image_size)

    def forward(self, feats: Features) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    def loss(self, outputs: dict[str, torch.Tensor],
             targets: dict[str, Any]) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    def predict(self, outputs: dict[str, torch.Tensor], **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def output_names(self) -> list[str]:
        """Names of the inference outputs, in export order."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                d = self.forward(self._dummy_features())
        finally:
            self.train(was_training)
        return list(d)

    def _dummy_features(self) -> list[torch.Tensor]:
        c = self.in_channels
        p = next(self.parameters())
        return [torch.zeros(1, c, 64 // s, 64 // s, device=p.device, dtype=p.dtype)
                for s in (4, 8, 16, 32)]
