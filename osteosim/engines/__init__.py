"""The engines that run the model: `des` (SimPy, resources and queues) and `cohort` (all-Numba), and the stream of replications (DESIGN §4)."""
