"""A process that ignores SIGTERM (tests the runtime's SIGKILL fallback).

Run as ``python -m tests.harness.stubborn``; importing it does nothing (pytest imports every
module for its doctests).
"""

import signal
import time


def main() -> None:
    """Ignore SIGTERM, say so, then sleep forever (--host/--port are accepted and unused)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ignoring SIGTERM", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
