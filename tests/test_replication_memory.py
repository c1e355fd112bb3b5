"""A service run's memory does not grow with its replications (engines.des.run.Run.close).

A replication's SimPy processes are still suspended when it reaches the horizon, and they held the run
(its logs and records) in reference cycles that only the garbage collector's full passes free; in a long
run those come rarely, so each replication's logs stayed and a run's memory grew with its replications.
"""
import gc
import tracemalloc

from osteosim.config import compose
from osteosim.engines.replications import chunks

# three years of accrual: each replication's tables hold some 55,000 event and resource rows; before `close`
# each left about 10 MB in cycles (measured with the collector off, as here), after it about 0.2-0.8 MB:
# SimPy's own scheduled events and the resources, which stay in the environment's cycle
LEFT_PER_REPLICATION_MIB = 3.0


def test_a_finished_replication_leaves_nothing_for_the_garbage_collector():
    config = compose(["output.progress=false", "workers=1", "replications=4", "cohort.accrual_years=3", "cohort.followup_years=2"])
    next(iter(chunks(compose(["output.progress=false", "cohort.accrual_years=1"]))))   # compiled, caches warm
    held, rows = [], 0
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        for chunk in chunks(config):
            rows += len(chunk.events) + len(chunk.resources)
            del chunk
            held.append(tracemalloc.get_traced_memory()[0] / 2**20)
    finally:
        tracemalloc.stop()
        gc.enable()
    assert rows > 4 * 40_000      # the replications did log what the bound is about
    growth = (held[-1] - held[0]) / (len(held) - 1)
    assert growth < LEFT_PER_REPLICATION_MIB, f"each replication left {growth:.1f} MiB behind"
