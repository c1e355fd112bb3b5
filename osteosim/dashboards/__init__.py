"""Self-contained Plotly dashboards of a run and of a sweep, drawn from result tables."""
