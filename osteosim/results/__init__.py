"""The run folder: tables, atomic writes, integrity record and provenance (DESIGN §5)."""
