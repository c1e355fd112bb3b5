"""Analyses of result tables: survival, summaries, replications with paired differences, trials, service measures."""
