"""What this process may use of the machine it runs on."""
from __future__ import annotations

import os


def available_cores() -> int:
    """CPU cores this process may run on: the container's or taskset's share, not the host's count.

    os.cpu_count() reports every core of the host even when a container is limited to two of them;
    sizing workers or thread pools by it oversubscribes the cores we actually have.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS / Windows have no affinity call
        return os.cpu_count() or 1
