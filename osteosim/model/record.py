"""What the pathway found out about each patient: one array per column of patients.parquet."""
from __future__ import annotations

import numpy as np

NAN = np.nan
DEATH_CAUSES = ("", "osteosarcoma", "treatment", "other")   # code 0 = alive (censored)
OSTEOSARCOMA, TREATMENT, OTHER = 1, 2, 3


class PatientRecord:
    """Milestone days, findings and outcomes, filled in by the stages (index = patient id)."""

    DAY_COLUMNS = ("diagnosis_day", "chemo_start_day", "surgery_day", "metastasectomy_day",
                   "adjuvant_start_day", "rt_start_day", "end_of_treatment_day", "relapse_day", "death_day")

    def __init__(self, n: int):
        for name in self.DAY_COLUMNS:
            setattr(self, name, np.full(n, NAN))
        self.met_status = np.zeros(n, dtype=np.int8)      # staged pattern, index into cohort.MET_PATTERNS
        self.n_lung_nodules = np.zeros(n, dtype=np.int32)  # nodules seen on staging CT
        self.bilateral = np.zeros(n, dtype=bool)
        self.good_response = np.full(n, NAN)               # 1/0, NaN when not assessed
        self.csr = np.zeros(n, dtype=bool)
        self.relapse_site = np.full(n, -1, dtype=np.int8)     # code in protocol.SITE_CODES, -1 = none
        self.cr2 = np.full(n, NAN)                         # 1/0, NaN without relapse
        self.second_malignancy_day = np.full(n, NAN)       # set after the pathway (disease.kernels)
        self.death_cause = np.zeros(n, dtype=np.int8)     # code in DEATH_CAUSES

    def dead(self, pid: int) -> bool:
        return not np.isnan(self.death_day[pid])
