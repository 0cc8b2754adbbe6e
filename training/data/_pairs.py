"""Pairing image files with their per-pixel targets by file stem."""

from __future__ import annotations

from pathlib import Path

from argus_edge._errors import InvalidArgumentError

from ._io import IMAGE_EXTENSIONS

__all__ = ["list_images", "pair_by_stem"]


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name.

    Raises:
        InvalidArgumentError: The folder is missing or holds no images.
    """
    if not folder.is_dir():
        raise InvalidArgumentError(f"image folder {str(folder)!r} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise InvalidArgumentError(f"no images in {str(folder)!r}")
    return files


def pair_by_stem(
    images: list[Path], targets_dir: Path, extensions: tuple[str, ...]
) -> list[tuple[Path, Path]]:
    """Pairs each image with ``targets_dir/<stem><ext>``, the first extension that exists.

    Raises:
        InvalidArgumentError: An image has no target file.
    """
    pairs = []
    for image in images:
        for ext in extensions:
            target = targets_dir / f"{image.stem}{ext}"
            if target.is_file():
                pairs.append((image, target))
                break
        else:
            looked = ", ".join(extensions)
            raise InvalidArgumentError(
                f"no target for {image.name} in {str(targets_dir)!r} (looked for {looked})"
            )
    return pairs
