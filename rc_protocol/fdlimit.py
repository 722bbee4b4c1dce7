"""Open-file limits: a service raises its soft ``RLIMIT_NOFILE`` to the hard limit at start.

That is what the real Agent and dd-trace-go do without asking: since Go 1.19 every Go program
that imports ``os`` raises its soft limit to the hard one at init (golang/go
``src/os/rlimit.go``, go.dev/issue/46279), because some systems set the soft limit as low as
256 (or 1,024, Docker 25+ with containerd 2). The models need it more than the originals: the
agent holds a connection per tracer per lane, and a stub process hosting K tracers holds K per
lane (1,014 descriptors measured for 500 ready tracers; docs/hardening.md).

>>> soft, hard = raise_open_files_limit()
>>> soft == hard or hard == -1
True
"""

from __future__ import annotations

import resource


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft limit to the hard one (as Go's ``os`` package does); return both now in
    force. A system that refuses keeps its limits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft, hard  # macOS refuses RLIM_INFINITY: keep the soft limit
        soft = hard
    return soft, hard
