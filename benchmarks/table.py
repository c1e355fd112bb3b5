"""Print the Markdown table of the recorded benchmark results (for README.md)."""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def rows() -> list[tuple[str, str, str]]:
    des, cohort = load("des_default"), load("cohort_million")
    python, kernels, scaling, workers = load("cohort_vs_python"), load("des_vs_python_kernels"), load("scaling"), load("workers")
    background = load("des_background")
    threads = {int(k): v for k, v in cohort["patients_per_second_by_threads"].items()}
    last = scaling["points"][-1]
    return [
        ("`des`, default service scenario (patients/s, 1 core)", f"{des['patients_per_second']:,.0f}",
         f"≥ 5,000: {'met' if des['met'] else 'missed'} ({des['patients_per_second'] / 5000:.2f}×)"),
        ("`cohort`, 1M-patient trial, end to end (patients/s, 1 thread)", f"{threads[1]:,.0f}",
         f"≥ 1,000,000 per core: {'met' if cohort['met'] else 'missed'} ({threads[1] / 1e6:.2f}×)"),
        ("`cohort`, same, 2 threads", f"{threads[max(threads)]:,.0f}", f"{threads[max(threads)] / threads[1]:.2f}× of 1 thread"),
        ("`cohort` pathways vs the same model in plain Python/NumPy", f"{python['speedup']:,.0f}× faster",
         f"{python['patients'] / python['compiled_seconds']:,.0f} vs {python['patients'] / python['python_seconds']:,.0f} patients/s"),
        ("`des` with Numba kernels vs disease in Python", f"{kernels['speedup']:.1f}× faster", ""),
        ("`des` background demand simulated by each resource vs a SimPy process per use", f"{background['speedup']:.2f}× faster",
         "identical patients" if background["same_patients"] else "PATIENTS DIFFER"),
        (f"scaling: {last['patients']:,} patients, whole CLI run", f"{last['seconds']:.0f} s, {last['peak_gib']:.2f} GiB peak",
         "≤ 2 GiB: " + ("met" if scaling.get("met") else "missed")),
        (f"{workers['replications']} replications, 2 workers vs 1", f"{workers['speedup']:.2f}×",
         f"≥ 1.7×: {'met' if workers['met'] else 'missed'} ({workers['speedup'] / 1.7:.2f}×)"),
    ] + _issue14_rows() + _psa_row()


def _issue14_rows() -> list[tuple[str, str, str]]:
    """The whole run against the engine: cohort marginal throughput, service cost per replication, time per SimPy event."""
    out = []
    if (RESULTS / "cohort_marginal.json").exists():
        c = load("cohort_marginal")
        out.append(("`cohort` whole CLI run, marginal (1M vs 5M patients, dashboard included)",
                    f"{c['marginal_patients_per_second']:,.0f} patients/s",
                    f"≥ 500,000: {'met' if c['marginal_patients_per_second'] >= 5e5 else 'missed'}; engine stream "
                    f"{c['stream_patients_per_second']:,.0f}/s = {c['stream_over_marginal']:.2f}× (≤ 1.5×: "
                    f"{'met' if c['stream_over_marginal'] <= 1.5 else 'missed'})"))
    if (RESULTS / "service_marginal.json").exists():
        s = load("service_marginal")
        out.append(("`des` default scenario, whole CLI run warm (dashboard included)", f"{s['one_replication_seconds']:.2f} s",
                    f"< 4 s: {'met' if s['one_replication_seconds'] < 4 else 'missed'}"))
        out.append(("`des` default scenario, cost of each extra replication (8 vs 1)",
                    f"{s['seconds_per_extra_replication']:.2f} s",
                    f"≤ 0.5 s: {'met' if s['seconds_per_extra_replication'] <= 0.5 else 'missed'}"))
    if (RESULTS / "startup.json").exists():
        u = load("startup")
        out.append(("warm run of a small configuration (200 trial patients), whole CLI run, against importing the stack",
                    f"{u['run_seconds']:.2f} s with the dashboard, {u['no_dashboard_seconds']:.2f} s without; stack "
                    f"{u['stack_import_seconds']:.2f} s: {u['run_over_stack_imports']:.2f}x",
                    f"well under 2 s (< {u['target_seconds']:g} s): {'met' if u['run_seconds'] < u['target_seconds'] else 'missed'}"))
    if (RESULTS / "des_per_event.json").exists():
        e = load("des_per_event")["variants"]["default (background not logged)"]
        out.append((f"`des` time per SimPy event vs bare SimPy, same event count ({e['simpy_events']:,} events)",
                    f"{e['us_per_event']:.2f} vs {e['bare_us_per_event']:.2f} µs",
                    f"{e['ratio']:.1f}× (≤ 1.5×: {'met' if e['ratio'] <= 1.5 else 'missed'})"))
    return out


def _psa_row() -> list[tuple[str, str, str]]:
    if not (RESULTS / "psa.json").exists():
        return []
    psa = load("psa")
    return [(f"PSA: {psa['samples']:,} samples × {psa['arms']} arms × {psa['patients']:,} patients, {psa['workers']} workers",
             f"{psa['seconds']:.0f} s, {psa['peak_gib']:.2f} GiB peak (all processes)",
             f"≤ {psa['target_minutes']:g} min and ≤ {psa['target_peak_gib']:g} GiB: {'met' if psa['met'] else 'missed'}")]


if __name__ == "__main__":
    machine = load("des_default")["machine"]
    print(f"Measured on {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
          f"Python {machine['python']}, numba {machine['versions']['numba']}:\n")
    print("| benchmark | result | against target / baseline |\n|---|---|---|")
    for row in rows():
        print("| " + " | ".join(row) + " |")
