"""The SimPy engine: rostered resources, background demand, the event and resource logs, the run loop."""
