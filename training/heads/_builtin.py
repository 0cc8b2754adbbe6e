"""Imports every built-in head module so that each registers itself."""

from . import classification, dense, depth, pose, sem_fpn, upernet  # noqa: F401
