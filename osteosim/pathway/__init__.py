"""The SimPy pathway: resources with rosters, the stages of care, and the run loop (DESIGN §2)."""
