"""The model: population, disease kernels, protocol, keyed decisions and draws, the pathway (DESIGN §2-3)."""
