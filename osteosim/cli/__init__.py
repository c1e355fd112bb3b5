"""The commands: `osteosim` (run) and `osteosim-report` (sweep and run reports)."""
