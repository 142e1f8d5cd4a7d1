# A Python 2 workload that idles until stopped (pid 1 needs its own SIGTERM handler).
import signal
import sys

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    signal.pause()
