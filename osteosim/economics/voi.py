"""Value of information per patient: EVPI from the PSA samples, and EVPPI for groups of parameters by
a regression metamodel (Strong, Oakley and Brennan 2014, Med Decis Making 34:311).

EVPPI of a group phi is E_phi[max_d E(NB_d | phi)] - max_d E(NB_d). The inner expectation is the
regression of each arm's net benefit, less the reference arm's, on the group's sampled values: a
generalised additive model fitted by pygam (penalised splines, smoothing chosen by generalised
cross-validation). Why pygam: it is a small pure-Python library on the registry, fits a GAM with
GCV smoothing in a few lines, and the GAM is the metamodel the EVPPI literature recommends for
groups of up to four or five parameters; voiage (also on the registry) does EVPPI too, but wraps a
Rust core and its own data model, more than one regression needs. One parameter: one spline; two:
a tensor-product spline (interactions); more: additive splines (interactions between three or more
are not modelled, a stated limit).
"""
from __future__ import annotations

import numpy as np


def evpi(net_benefit: np.ndarray) -> float:
    """E[max over arms] - max over arms of E, from a samples x arms array of net benefit."""
    return float(np.mean(net_benefit.max(axis=1)) - net_benefit.mean(axis=0).max())


def _gam(x: np.ndarray):
    from pygam import LinearGAM, s, te

    k = x.shape[1]
    if k == 1:
        terms = s(0)
    elif k == 2:
        terms = te(0, 1)
    else:
        terms = s(0)
        for i in range(1, k):
            terms = terms + s(i)
    return LinearGAM(terms)


def fitted_net_benefit(net_benefit: np.ndarray, x: np.ndarray) -> np.ndarray:
    """E(NB_d | group) at every sample, by regressing each arm's net benefit less the reference's (arm 0)."""
    x = np.asarray(x, dtype=float).reshape(len(net_benefit), -1)
    fitted = np.zeros_like(net_benefit, dtype=float)
    lams = np.logspace(-3, 3, 4)
    for d in range(1, net_benefit.shape[1]):
        y = net_benefit[:, d] - net_benefit[:, 0]
        if np.ptp(y) == 0.0:
            fitted[:, d] = y
            continue
        gam = _gam(x).gridsearch(x, y, lam=lams, progress=False)
        fitted[:, d] = gam.predict(x)
    return fitted


def evppi(net_benefit: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """EVPPI per patient of the parameters in the columns of `x`, with the Monte-Carlo standard error of
    its first term (the spread of max_d E(NB_d | group) over samples / sqrt(samples))."""
    fitted = fitted_net_benefit(net_benefit, x)
    best = fitted.max(axis=1)
    value = float(best.mean() - fitted.mean(axis=0).max())
    return value, float(best.std(ddof=1) / np.sqrt(len(best)))
