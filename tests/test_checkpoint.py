"""Argus checkpoints: round trip, metadata, atomic writes, and refusing bad files."""

from __future__ import annotations

import dataclasses
import json

import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from argus_edge._errors import CheckpointError, InvalidArgumentError  # noqa: E402
from argus_edge.training import checkpoint as ckpt  # noqa: E402
from argus_edge.training.checkpoint import (  # noqa: E402
    load_checkpoint,
    read_checkpoint_metadata,
    save_checkpoint,
)
from argus_edge.training.models import ArgusConfig, create_model  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = create_model("argus_tiny").eval()
    with torch.no_grad():  # make the zero-initialised parts (gammas, offsets) non-trivial
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return model


@pytest.fixture(scope="module")
def saved(tiny, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(tiny, path, metadata={"run": "unit-test", "step": "12"})
    return path


def _features(model, seed: int = 1) -> list[torch.Tensor]:
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model.eval().forward_features(x)


def _rewrite(src, dst, *, meta=None, tensors=None):
    """Copy a checkpoint with its metadata and/or tensors changed."""
    from safetensors import safe_open
    with safe_open(src, framework="pt") as f:
        old_meta = f.metadata()
    state = safetensors_torch.load_file(src)
    safetensors_torch.save_file(tensors(state) if tensors else state, dst,
                                metadata=meta(dict(old_meta)) if meta else old_meta)
    return dst


def test_round_trip_gives_identical_features(tiny, saved):
    loaded = load_checkpoint(saved)
    assert loaded.cfg == tiny.cfg
    assert loaded.vit_frozen
    for a, b in zip(_features(loaded), _features(tiny)):
        assert torch.equal(a, b)
    for k, v in tiny.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def test_heads_round_trip(tmp_path):
    """Heads are described by the config and stored under ``heads.<task>.``: same format."""
    from argus_edge.training.heads import ClsHeadConfig
    from argus_edge.training.models import PRESETS, build_argus
    cfg = dataclasses.replace(PRESETS["argus_tiny"], heads={"cls": ClsHeadConfig(num_classes=5)})
    torch.manual_seed(2)
    model = build_argus(cfg)
    path = save_checkpoint(model, tmp_path / "with_head.safetensors")
    loaded = load_checkpoint(path)
    assert loaded.cfg == cfg
    state = model.state_dict()
    assert any(k.startswith("heads.cls.") for k in state)
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_metadata(tiny, saved):
    meta = read_checkpoint_metadata(saved)
    assert meta["format"] == "argus-checkpoint"
    assert meta["format_version"] == "1"
    assert meta["config"] == tiny.cfg.to_json()
    assert ArgusConfig.from_dict(json.loads(meta["config"])) == tiny.cfg
    assert meta["argus_edge_version"]
    assert meta["run"] == "unit-test" and meta["step"] == "12"


def test_bad_user_metadata(tiny, tmp_path):
    with pytest.raises(InvalidArgumentError, match="reserved"):
        save_checkpoint(tiny, tmp_path / "a.safetensors", metadata={"config": "x"})
    with pytest.raises(InvalidArgumentError, match="str to str"):
        save_checkpoint(tiny, tmp_path / "a.safetensors", metadata={"step": 3})
    with pytest.raises(InvalidArgumentError, match="Argus model"):
        save_checkpoint(torch.nn.Linear(2, 2), tmp_path / "a.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write(tiny, tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    save_checkpoint(tiny, path, metadata={"version": "old"})
    save_checkpoint(tiny, path, metadata={"version": "new"})  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    assert read_checkpoint_metadata(path)["version"] == "new"

    def crash(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise KeyboardInterrupt
    monkeypatch.setattr(safetensors_torch, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tiny, path, metadata={"version": "newer"})
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    assert read_checkpoint_metadata(path)["version"] == "new"  # the old file is intact


def test_file_mode_follows_the_umask(tiny, tmp_path):
    """Like any file a program writes: 0666 minus the umask (safetensors alone leaves
    0600, which breaks sharing a checkpoint with a group)."""
    import os
    import stat
    umask = os.umask(0o022)  # whatever the test runner's umask, 0600 would differ
    try:
        path = save_checkpoint(tiny, tmp_path / "shared.safetensors")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_shared_tensors_are_stored_separately():
    weight = torch.randn(4, 4)
    state = {"a": weight, "tied": weight, "view": weight[1:3], "t": weight.t()}
    tensors = ckpt._standalone_tensors(state)
    assert safetensors_torch.load(safetensors_torch.save(tensors))["view"].equal(weight[1:3])


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_truncated_file(saved, tmp_path):
    data = saved.read_bytes()
    for n in (len(data) // 2, len(data) - 1, 7):
        bad = tmp_path / f"cut{n}.safetensors"
        bad.write_bytes(data[:n])
        with pytest.raises(CheckpointError, match="safetensors"):
            load_checkpoint(bad)


def test_garbage_file(tmp_path):
    bad = tmp_path / "garbage.safetensors"
    bad.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)


def test_not_an_argus_checkpoint(tmp_path):
    path = tmp_path / "plain.safetensors"
    safetensors_torch.save_file({"w": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not an Argus checkpoint"):
        load_checkpoint(path)


def test_unsupported_format_version(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "v9.safetensors",
                    meta=lambda m: m | {"format_version": "9"})
    with pytest.raises(CheckpointError, match="format version '9'"):
        read_checkpoint_metadata(path)


def test_flipped_config(saved, tmp_path):
    def deeper(meta):
        cfg = json.loads(meta["config"])
        cfg["vit"]["embed_dim"] = 48
        return meta | {"config": json.dumps(cfg)}
    path = _rewrite(saved, tmp_path / "flipped.safetensors", meta=deeper)
    with pytest.raises(CheckpointError, match="do not match the argus_tiny model"):
        load_checkpoint(path)


@pytest.mark.parametrize("config", ["{not json", "[1, 2]", '{"name": "x", "future_field": 1}',
                                    '{"vit": {"depth": 3}}', '{"heads": {"no_such_task": {}}}'])
def test_invalid_config(saved, tmp_path, config):
    path = _rewrite(saved, tmp_path / "badcfg.safetensors", meta=lambda m: m | {"config": config})
    with pytest.raises(CheckpointError, match="config stored in"):
        load_checkpoint(path)


def test_tensor_mismatch(saved, tmp_path):
    def drop_one(state):
        state.pop("adapter.level_embed")
        return state | {"heads.cls.weight": torch.zeros(3)}
    path = _rewrite(saved, tmp_path / "mismatch.safetensors", tensors=drop_one)
    with pytest.raises(CheckpointError,
                       match=r"missing: adapter\.level_embed; 1 unexpected: heads\.cls\.weight"):
        load_checkpoint(path)
