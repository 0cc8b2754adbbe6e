"""The installed package version."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("argus-edge")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
