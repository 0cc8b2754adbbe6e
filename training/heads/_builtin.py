"""Imports every built-in head module so that each registers itself."""

from . import classification, upernet  # noqa: F401
