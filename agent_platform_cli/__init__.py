"""`agent-platform`: a command-line client of the platform's public HTTP API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agent-platform")
except PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0+unknown"
