"""Imports every built-in head module so that each registers itself."""

from . import classification, dense, depth, pose, upernet  # noqa: F401
