"""The CHEERS 2022 items a model run can answer for itself (Husereau, BMJ 2022;376:e067975;
health_economics.md §6), filled in from the configuration and the PSA's settings; items only the
authors of a study can answer (analysis plan, engagement, funding, conflicts) say so."""
from __future__ import annotations

from osteosim.config.schema import ArmConfig, Config

AUTHORS = "for the study's authors (not known to the model)"


def checklist(config: Config, arms: dict[str, ArmConfig], *, samples: int, patients: int, paired: bool,
              provenance: str) -> list[tuple[str, str, str]]:
    """(item number, item, how this analysis meets it) for the CHEERS 2022 checklist."""
    e, c = config.economics, config.cohort
    horizon = min(e.horizon_years, c.followup_years)
    utilities = e.utilities
    uncertain = ", ".join(f"{i.key} ~ {i.dist}({', '.join(f'{k}={v:g}' for k, v in i.params.items())})"
                          for i in e.psa) or "none"
    return [
        ("4", "Health economic analysis plan", AUTHORS),
        ("5", "Study population", f"simulated trial cohort of {patients:,} patients per arm and sample: metastatic share "
                                  f"{c.metastatic_fraction:g}, ages {c.age_min:g}-{c.age_max:g} (mean {c.age_mean:g}); "
                                  "conf/cohort/"),
        ("6", "Setting and location", f"economics={e.name}: {e.perspective}; the care pathway of a bone-sarcoma "
                                      "service (osteosim/DESIGN.md §2)"),
        ("7", "Comparators", "; ".join(f"{name}: {arm.description} ({arm.source})" for name, arm in arms.items())),
        ("8", "Perspective", e.perspective),
        ("9", "Time horizon", f"{horizon:g} years of follow-up after accrual (economics.horizon_years={e.horizon_years:g}, "
                              f"cohort.followup_years={c.followup_years:g})"),
        ("10", "Discount rate", f"costs {100 * e.discount_costs:g}%, effects {100 * e.discount_effects:g}% a year, "
                                "in continuous time from each patient's diagnosis (no cycles)"),
        ("11", "Selection of outcomes", "QALYs and life years per patient, discounted and not"),
        ("12", "Measurement of outcomes", "each simulated patient's own timeline (osteosim/DESIGN.md §3, §8)"),
        ("13", "Valuation of outcomes", f"survivor {utilities.survivor:g}, on first-line treatment "
                                        f"{utilities.survivor - utilities.on_treatment_decrement:g}, after relapse "
                                        f"{utilities.after_relapse:g}, last {utilities.palliative_days:g} days before a "
                                        f"cancer death {utilities.palliative:g}; late-effect decrements; carer QALYs "
                                        f"{'included' if e.carer.enabled else 'not included'} (conf/economics/)"),
        ("14", "Measurement and valuation of resources and costs",
         f"{len(e.costs)} unit costs with their sources (conf/economics/{e.name}.yaml), applied to each patient's "
         "courses, operations, visits, relapse care, end-of-life care and late effects"),
        ("15", "Currency, price date, and conversion", f"{e.currency} at {e.price_year} prices; amounts from other "
                                                       f"years compounded at {100 * e.inflation_per_year:g}% a year"),
        ("16", "Rationale and description of model", f"individual-patient discrete-event simulation ({provenance}); "
                                                      "osteosim/DESIGN.md"),
        ("17", "Analytics and assumptions", f"{'common random numbers across arms' if paired else 'independent streams'}"
                                            "; assumptions labelled ASSUMPTION in conf/ and listed in README"),
        ("18", "Characterising heterogeneity", "not analysed here (subgroups: rerun with cohort overrides)"),
        ("19", "Characterising distributional effects", "not analysed"),
        ("20", "Characterising uncertainty", f"PSA of {samples:,} samples of: {uncertain}; one-way analysis at the 2.5th "
                                             "and 97.5th percentiles; EVPI and EVPPI (GAM metamodel)"),
        ("21", "Approach to engagement with patients and others affected by the study", AUTHORS),
        ("22", "Study parameters", "psa.parquet holds every sampled value; conf/economics/ every point value and source"),
        ("23", "Summary of main results", "psa.md: means, efficiency frontier and ICERs"),
        ("24", "Effect of uncertainty", "psa.md and psa.html: CEAC and frontier, EVPI, EVPPI, tornado"),
        ("25", "Effect of engagement with patients and others affected by the study", AUTHORS),
        ("28", "Source of funding; 29 Conflicts of interest", AUTHORS),
    ]


def markdown(rows: list[tuple[str, str, str]]) -> str:
    lines = ["# CHEERS 2022: what this analysis reports", "", "| item | topic | this analysis |", "|---|---|---|"]
    lines += [f"| {n} | {topic} | {text.replace('|', '/')} |" for n, topic, text in rows]
    return "\n".join(lines) + "\n"
