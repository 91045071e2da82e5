"""Random streams keyed by name: each process of the model draws from its own stream, so a policy that changes how
many numbers one process draws does not shift the numbers another process sees (common random numbers), and
adding a stream changes no other.

The stream ``name`` of a run with seed ``seed`` is seeded by ``(seed, a 64-bit hash of name)`` (SHA-256, the
same on every machine), not by its position in a list.
"""

from __future__ import annotations

import hashlib

import numpy as np


def name_key(name: str) -> int:
    """A stable 64-bit integer for a stream's name."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


def stream(seed: int, name: str) -> np.random.Generator:
    """The random stream ``name`` of a run with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), name_key(name)]))


class Streams:
    """A run's named streams, each made on first use and kept: ``streams["onset"]``."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._made: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._made:
            self._made[name] = stream(self.seed, name)
        return self._made[name]
