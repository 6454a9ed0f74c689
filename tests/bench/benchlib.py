"""What the Python benchmarks share: a daemon's CPU time and /proc status
fields, and running many HTTP requests from a few threads."""
import os
import threading


def cpu_s(pid):
    """User + system CPU seconds of process pid so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid, key):
    """An integer field of /proc/pid/status (VmHWM, VmRSS in KiB; Threads)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def fan(fn, items, nthreads=8):
    """fn(item) for every item on nthreads threads; exits naming the first
    failure when any call raised."""
    errors = []

    def run(chunk):
        for it in chunk:
            try:
                fn(it)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"{it}: {e}")
    ts = [threading.Thread(target=run, args=(items[i::nthreads],)) for i in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, first: {errors[0]}")
