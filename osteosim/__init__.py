"""osteosim: discrete-event simulation of the osteosarcoma care pathway.

``osteosim.simulate(cfg) -> Results`` runs a configuration (a Hydra DictConfig or a typed
``osteosim.config.Config``; ``osteosim.config.compose([...overrides])`` builds one from conf/).
"""
from osteosim.api import Results, simulate

__all__ = ["Results", "simulate"]
