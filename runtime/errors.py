"""The runtime's errors: each names what it found, what the bundle expects, and a fix."""

from __future__ import annotations


class RuntimeConfigError(Exception):
    """The bundle or the live environment cannot start this job as compiled."""


class BundleError(RuntimeConfigError):
    """The bundle is missing, unreadable, tampered with or from an incompatible satc."""


class TopologyError(RuntimeConfigError):
    """The live ranks (environment, devices) differ from the compiled topology."""


class RendezvousError(RuntimeConfigError):
    """A distributed step of init() did not complete: a peer never arrived or died."""
