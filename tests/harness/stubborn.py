"""A process that ignores SIGTERM (tests the runtime's SIGKILL fallback)."""

import signal
import sys
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
sys.argv[1:]  # --host/--port are accepted and unused
while True:
    time.sleep(1)
