"""Wall-clock and process CPU seconds of a block (the speed benchmarks' stopwatch)."""
import time


class Timer:
    """``with Timer() as t: ...`` leaves ``t.wall`` and ``t.cpu`` (seconds) of the block.

    Both are reported because the benchmark machines are shared: wall time can be much
    longer than the CPU time the process got.
    """

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
