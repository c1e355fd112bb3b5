"""osteosim: discrete-event simulation of the osteosarcoma care pathway.

``osteosim.simulate(cfg) -> Results`` runs a configuration (a Hydra DictConfig or a typed
``osteosim.config.Config``; ``osteosim.config.compose([...overrides])`` builds one from conf/).

The layout follows the architecture (osteosim/DESIGN.md §6): ``model`` (what happens to a
patient), ``engines`` (how it is run), ``results`` (the run folder), ``analysis`` (statistics of
the tables), ``dashboards``, ``calibration``, ``config`` and ``cli``. Importing the package is
light: the API is loaded on first use, so ``import osteosim.model.rng`` pulls in neither pandas
nor pyarrow.
"""
__all__ = ["Results", "simulate"]


def __getattr__(name: str):
    if name in __all__:
        from osteosim import api

        return getattr(api, name)
    raise AttributeError(f"module 'osteosim' has no attribute {name!r}")
