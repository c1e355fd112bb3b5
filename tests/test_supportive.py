"""Supportive care beside the pathway (conf/supportive, model.supportive): palliative referral under each
policy, the end-of-life phase and the place of death. Small cohorts, one module-scoped run per policy."""
import numpy as np
import pytest

from osteosim import simulate
from osteosim.config import compose
from osteosim.model.codes import DEATH, PLACE
from osteosim.model.supportive import pack_places, place_shares, places_of_death

BASE = ["cohort=trial", "cohort.n_patients=600", "cohort.metastatic_fraction=1", "engine=cohort",
        "output.events=true", "output.progress=false", "seed=5"]


@pytest.fixture(scope="module")
def early():
    return simulate(compose([*BASE, "supportive.palliative.policy=early"]), summary=False)


@pytest.fixture(scope="module")
def late():
    return simulate(compose(BASE), summary=False)


def test_early_policy_refers_every_death_with_no_cure_possible_before_it(early):
    """Every osteosarcoma death comes after disease nobody could remove: under the early policy (referral
    probability 1) each has a referral before it, logged as an event on its day."""
    p = early.patients
    died = p[p.death_cause.astype(str) == "osteosarcoma"]
    assert len(died) >= 100
    assert (died.palliative_referral_day <= died.death_day).all()
    referred = p[p.palliative_referral_day.notna()]
    assert (referred.palliative_referral_day >= referred.relapse_day.fillna(referred.diagnosis_day)).all()
    assert (referred.cr2 != True).any()  # noqa: E712 some at the first relapse without remission
    ev = early.events[early.events.event.astype(str) == "palliative_referral"]
    assert sorted(ev.patient_id) == sorted(referred.patient_id)
    day = referred.set_index("patient_id").palliative_referral_day
    np.testing.assert_allclose(ev.set_index("patient_id").day.sort_index(), day.sort_index())


def test_late_policy_refers_at_the_last_lines_end_with_its_probability(late):
    """Late referrals happen on palliative_day only, in the configured share of those who reach it alive
    (tolerance: 4 binomial standard errors)."""
    p = late.patients
    referred = p[p.palliative_referral_day.notna()]
    np.testing.assert_array_equal(referred.palliative_referral_day, referred.palliative_day)
    reached = p[p.palliative_day.notna()]
    share, n = len(referred) / len(reached), len(reached)
    q = late.config.supportive.palliative.referral_probability["late"]
    assert n >= 100 and abs(share - q) < 4 * np.sqrt(q * (1 - q) / n)


def test_no_referral_under_either_policy_changes_an_outcome(early, late):
    for column in ("death_day", "relapse_day", "palliative_day", "efs_days", "doxorubicin_mg_m2", "heart_failure_day"):
        np.testing.assert_array_equal(early.patients[column], late.patients[column], err_msg=column)


def test_palliative_contacts_and_end_of_life_admissions_come_between_referral_and_death(early):
    ev, p = early.events, early.patients.set_index("patient_id")
    starts = ev[(ev.event.astype(str) == "start") & (ev.stage.astype(str) == "supportive")]
    nurse = starts[starts.resource.astype(str) == "palliative_nurse"]
    assert len(nurse) > len(p.palliative_referral_day.dropna())   # several contacts per referral
    ref = p.palliative_referral_day.reindex(nurse.patient_id).to_numpy()
    death = p.death_day.reindex(nurse.patient_id).to_numpy()
    assert (nurse.day.to_numpy() >= ref).all() and not (nurse.day.to_numpy() >= death).any()
    bed = starts[starts.resource.astype(str) == "eol_bed"]
    assert len(bed) > 0 and not (bed.day.to_numpy() >= p.death_day.reindex(bed.patient_id).to_numpy()).any()


def test_places_of_death_follow_the_configured_shares_with_and_without_a_referral():
    """The kernel's shares match place_shares (tolerance: 4 standard errors of each share)."""
    L = pack_places(compose([]))
    n = 20_000
    cause = np.full(n, DEATH.osteosarcoma)
    death = np.full(n, 100.0)
    for referral, before in ((np.full(n, 50.0), True), (np.full(n, np.nan), False)):
        got = places_of_death(cause, death, referral, 0, 3, L)
        for code, share in zip((PLACE.home, PLACE.hospice, PLACE.hospital), place_shares(before, L)):
            assert abs(np.mean(got == code) - share) < 4 * np.sqrt(share * (1 - share) / n)
    # specialist palliative care lowers the odds of a hospital death by the configured odds ratio
    h0, h1 = place_shares(False, L)[2], place_shares(True, L)[2]
    assert h1 / (1 - h1) == pytest.approx(h0 / (1 - h0) * L.hospital_or)
    other = places_of_death(np.full(10, DEATH.other), np.full(10, 1.0), np.full(10, 0.0), 0, 3, L)
    assert (other == PLACE.none).all()


# ------------------------------------------------------------------ psychosocial care and survivorship
def supportive_starts(run, resource):
    ev = run.events
    return ev[(ev.event.astype(str) == "start") & (ev.stage.astype(str) == "supportive")
              & (ev.resource.astype(str) == resource)]


def test_family_tiers_follow_the_configured_shares(late):
    """Every diagnosed family is assessed into a tier; shares within 4 binomial standard errors."""
    p = late.patients
    assert (p.family_tier.astype(str) != "").all()
    n = len(p)
    for tier, share in late.config.supportive.family_tiers.items():
        got = np.mean(p.family_tier.astype(str) == tier)
        assert abs(got - share) < 4 * np.sqrt(share * (1 - share) / n), tier


def test_psychosocial_contacts_follow_admissions_tiers_relapses_and_deaths(late):
    """One social-work contact per chemotherapy admission plus the assessment (contacts follow days in
    hospital); the clinical tier has more psychology sessions than the universal one; bereavement after
    deaths only, within the horizon."""
    ev, p = late.events, late.patients.set_index("patient_id")
    courses = ev[(ev.event.astype(str) == "start") & (ev.resource.astype(str) == "chemo_bed")
                 & (ev.stage.astype(str) != "supportive")].groupby("patient_id").size()
    social = supportive_starts(late, "social_work").groupby("patient_id").size()
    relapsed = p.relapses.reindex(social.index) > 0
    expected = 1 + courses.reindex(social.index, fill_value=0) + relapsed.astype(int)
    assert (social <= expected).all() and (social == expected).mean() > 0.9   # contacts stop at death
    psych = supportive_starts(late, "psychology").groupby("patient_id").size().reindex(p.index, fill_value=0)
    tier = p.family_tier.astype(str)
    assert psych[tier == "clinical"].mean() > psych[tier == "targeted"].mean() > psych[tier == "universal"].mean()
    bereaved = supportive_starts(late, "psychology").merge(p[["death_day"]], left_on="patient_id",
                                                          right_index=True)
    after = bereaved[bereaved.day > bereaved.death_day]
    assert len(after) > 0 and (after.day >= after.death_day + 28 - 1e-9).all()


def test_survivorship_surveillance_only_after_its_exposure(late):
    p = late.patients.set_index("patient_id")
    for resource, dose in (("echo", "doxorubicin_mg_m2"), ("audiology", "cisplatin_mg_m2")):
        seen = supportive_starts(late, resource)
        assert len(seen) > 0
        rows = p.loc[seen.patient_id]
        assert (rows[dose].to_numpy() > 0).all()
        assert (seen.day.to_numpy() >= rows.end_of_treatment_day.to_numpy()).all()


def test_revision_surgery_is_booked_at_the_prosthesis_failure_when_switched_on():
    run = simulate(compose([*BASE, "cohort.metastatic_fraction=0", "cohort.followup_years=15",
                            "supportive.revision_surgery=true"]), summary=False)
    p = run.patients.set_index("patient_id")
    revisions = supportive_starts(run, "theatre_ortho").set_index("patient_id").day
    failed = p.prosthesis_failure_day.dropna()
    assert len(failed) >= 20
    np.testing.assert_allclose(revisions.sort_index(), failed.sort_index())


def test_dexrazoxane_arm_scales_the_heart_failure_hazard_by_its_hazard_ratio():
    from osteosim.model.late_effects import heart_failure_rate, pack

    base, dex = pack(compose([])), pack(compose(["arm=dexrazoxane"]))
    assert dex.hf_rate_ref == pytest.approx(0.45 * base.hf_rate_ref)
    assert heart_failure_rate(450.0, dex) == pytest.approx(0.45 * heart_failure_rate(450.0, base))
