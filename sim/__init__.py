"""triangle: an agent-based model of a county health system and its cost / access / quality triangle."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("triangle-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
