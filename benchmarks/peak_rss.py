"""Run a command as this process and write its peak resident memory to a file at exit.

    python benchmarks/peak_rss.py OUT_FILE -m MODULE ARGS... | -c CODE | SCRIPT ARGS...

Linux keeps a child's RSS high-water mark across exec, so the rusage of a process
spawned by a Python parent starts at the parent's size; VmHWM of the process's own
memory, read at exit, is the peak of exactly the command.
"""

import atexit
import sys


def _write_peak(path: str) -> None:
    peak_kb = 0
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak_kb = int(line.split()[1])
    except OSError:  # no procfs: fall back to rusage (an upper bound)
        import resource

        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(path, "w", encoding="ascii") as out:
        out.write(str(peak_kb * 1024))


def main() -> None:
    out_file, mode, *rest = sys.argv[1:]
    atexit.register(_write_peak, out_file)
    if mode == "-c":
        sys.argv = ["-c", *rest[1:]]
        exec(compile(rest[0], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102 -- python -c, as documented
        return
    import runpy

    if mode == "-m":
        sys.argv = [rest[0], *rest[1:]]
        runpy.run_module(rest[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = [mode, *rest]
        runpy.run_path(mode, run_name="__main__")


main()
