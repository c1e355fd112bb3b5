"""Health economics: what each patient's care cost and what their life was worth, and what that says
about the arms (DESIGN §8).

One job per module: `discounting` (continuous-time discount factors in closed form), `unit_costs`
(the priced things of conf/economics), `accounting` (per-patient costs, life years and QALYs from a
patients table), `tables` (a run's economics.parquet and its totals), `comparison` (arms against the
reference over replications: ICER, net monetary benefit), `psa` (parameter samples, each a paired
cohort run), `decisions` (CEAC, frontiers), `voi` (EVPI, EVPPI), `sensitivity` (one-way, tornado)
and `cheers` (the CHEERS 2022 items a run answers).
"""
