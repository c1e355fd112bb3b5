"""Probabilistic sensitivity analysis: outer samples of the uncertain parameters, each run on a cohort
with common random numbers across arms (DESIGN §8).

Sample s draws parameter i from keyed uniforms (osteosim.model.rng: seed, stream s, purpose
psa_parameter, index from i), so a sample's values depend on nothing but the seed and its index: results are the same whatever the split over workers, and adding
a parameter to the list moves no other. Each sample then simulates every arm on one patient stream
(paired: the same patients and draws in every arm) and keeps only each arm's mean cost, life years
and QALYs: no patient table is written. Samples run in fixed blocks; each finished block is written
atomically to `parts/`, so an interrupted PSA resumes from the blocks it finished.
"""
from __future__ import annotations

import copy
import functools
import dataclasses
import hashlib
import json
import math
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from osteosim.config import ConfigError, arm_config
from osteosim.config.schema import ArmConfig, Config, Uncertain
from osteosim.config.validate import MAX_SHARES
from osteosim.economics.accounting import patient_economics
from osteosim.economics.comparison import MEASURES

BLOCK = 10              # samples per resumable block (fixed: the split never depends on the workers)
RESULT_COLUMNS = ("sample", "arm", *MEASURES)


# ------------------------------------------------------------------ sampling
def columns(items: Iterable[Uncertain], config: Config) -> list[str]:
    """One column per sampled number: the key, or key.share for each share of a Dirichlet."""
    from osteosim.config.validate import psa_target

    out = []
    for item in items:
        if item.dist == "dirichlet":
            out += [f"{item.key}.{share}" for share in psa_target(config, item.key)]
        else:
            out.append(item.key)
    return out


def quantile(item: Uncertain, u: float) -> float:
    """The u-quantile of a parameter's (one-number) distribution."""
    p = item.params
    if item.dist == "beta":
        return float(stats.beta.ppf(u, p["alpha"], p["beta"]))
    if item.dist == "gamma":
        return float(stats.gamma.ppf(u, p["shape"], scale=p["scale"]))
    if item.dist == "lognormal":
        return float(math.exp(p["mu"] + p["sigma"] * stats.norm.ppf(u)))
    if item.dist == "normal":
        return float(p["mean"] + p["sd"] * stats.norm.ppf(u))
    raise ValueError(f"{item.key}: dist={item.dist} has no quantile of one number")


def draw(items: list[Uncertain], config: Config, seed: int, sample: int) -> dict[str, float]:
    """Sample `sample`'s values of every uncertain parameter (its point value when `fixed`), each clipped
    into the range its field declares (a normal can stray past a utility's 1). Parameter i takes the keyed
    uniforms (seed, stream = sample, psa_parameter, i * MAX_SHARES + k) through its inverse distribution
    function (a Dirichlet: gamma quantiles of one uniform per share, normalised)."""
    from osteosim.config.validate import psa_target
    from osteosim.model.rng import PURPOSE, uniform

    def u(i: int, k: int = 0) -> float:
        return float(uniform(seed, sample, PURPOSE.psa_parameter, i * MAX_SHARES + k))

    values = {}
    for i, item in enumerate(items):
        if item.dist == "dirichlet":
            shares = list(psa_target(config, item.key))
            drawn = np.array([stats.gamma.ppf(u(i, k), item.params[name]) for k, name in enumerate(shares)])
            values.update({f"{item.key}.{name}": float(x) for name, x in zip(shares, drawn / drawn.sum())})
        elif item.dist == "fixed":
            values[item.key] = float(psa_target(config, item.key))
        else:
            values[item.key] = clip(quantile(item, u(i)), field_range(item.key))
    return values


@functools.lru_cache(maxsize=None)
def field_range(key: str) -> tuple[float, float, bool] | None:
    """The (lo, hi, open_lo) range the schema declares for a key (arms.<arm>.<field> for an arm's)."""
    parts = key.split(".")
    cls, names = (ArmConfig, parts[2:]) if parts[0] == "arms" else (Config, parts)
    meta = None
    for name in names:
        if cls is None:
            return meta.get("range") if meta else None
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if name not in fields:       # a dict's entry: the range of the dict's values, or the next class
            continue
        meta = fields[name].metadata
        hint = _resolved(cls)[name]
        inner = getattr(hint, "__args__", (hint,))[-1]
        cls = inner if dataclasses.is_dataclass(inner) else None
    return meta.get("range") if meta else None


def _resolved(cls) -> dict:
    """A dataclass's field types as classes (the schema module uses postponed annotations)."""
    import typing

    return typing.get_type_hints(cls)


def clip(value: float, rng: tuple | None) -> float:
    if rng is None:
        return value
    lo, hi, open_lo = rng
    floor = np.nextafter(lo, np.inf) if open_lo else lo
    return float(min(max(value, floor), hi))


def apply(config: Config, arms: dict[str, ArmConfig], values: dict[str, float],
          items: list[Uncertain]) -> tuple[Config, dict[str, ArmConfig]]:
    """Copies of the configuration and the arms with the sampled values in place."""
    config, arms = copy.deepcopy(config), copy.deepcopy(arms)
    for item in items:
        parts = item.key.split(".")
        if item.dist == "dirichlet":
            value = {k.rsplit(".", 1)[1]: v for k, v in values.items() if k.rsplit(".", 1)[0] == item.key}
        else:
            value = values[item.key]
        if parts[0] == "arms":
            if parts[1] in arms:
                setattr(arms[parts[1]], parts[2], value)
            continue
        node = config
        for part in parts[:-1]:
            node = node[part] if isinstance(node, dict) else getattr(node, part)
        if isinstance(node, dict):
            node[parts[-1]] = value
        else:
            setattr(node, parts[-1], value)
    return config, arms


# ------------------------------------------------------------------ one sample
def evaluate(config: Config, arms: dict[str, ArmConfig], sample: int, paired: bool = True,
             stream_offset: int = 0) -> list[dict]:
    """Each arm's mean cost, life years and QALYs per patient on sample `sample`'s patient stream (the
    same stream for every arm when paired; `stream_offset` moves every sample to other patients, leaving
    the parameter draws alone); nothing is written."""
    from osteosim.engines.replications import UNPAIRED_ARM_OFFSET, arm_chunks
    from osteosim.model import rng

    rows = []
    for index, (name, arm) in enumerate(arms.items()):
        stream = sample + stream_offset + (0 if paired else UNPAIRED_ARM_OFFSET * (index + 1))
        variant = dataclasses.replace(config, arm=arm, arms=[], replications=1)
        sums, n = np.zeros(len(MEASURES)), 0
        for chunk in arm_chunks(variant, 0, int(rng.replication_seed(config.seed, stream))):
            frame = patient_economics(chunk.patients, variant, {name: arm})
            sums += frame[list(MEASURES)].to_numpy().sum(axis=0)
            n += len(frame)
        rows.append({"sample": sample, "arm": name, **dict(zip(MEASURES, sums / max(n, 1)))})
    return rows


def run_block(config: Config, arms: dict[str, ArmConfig], samples: range, paired: bool,
              stream_offset: int = 0) -> pd.DataFrame:
    """Samples of one block: draw, apply, evaluate; one row per sample x arm with the sampled values."""
    import numba

    numba.set_num_threads(1)   # workers share the cores; keyed draws make the threads irrelevant anyway
    items = list(config.economics.psa)
    rows = []
    for s in samples:
        values = draw(items, config, config.seed, s)
        sampled, sampled_arms = apply(config, arms, values, items)
        for row in evaluate(sampled, sampled_arms, s, paired, stream_offset):
            rows.append({**row, **values})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ the whole PSA, resumable
def fingerprint(config: Config, arms: dict[str, ArmConfig], paired: bool, stream_offset: int) -> str:
    """What a finished block depends on (configuration, arms, streams): parts from another PSA are refused."""
    text = json.dumps({"config": repr(config), "arms": repr(arms), "paired": paired, "block": BLOCK,
                       "stream_offset": stream_offset}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run(config: Config, arm_names: list[str], n_samples: int, folder: Path, workers: int = 1,
        paired: bool = True, progress=None, stream_offset: int = 0,
        share: tuple[int, int] = (1, 1)) -> pd.DataFrame | None:
    """All `n_samples` samples (blocks already in `folder/parts` are kept), as one frame sorted by sample and arm.
    share=(k, n) runs only every n-th block from the k-th (one job of a SLURM array or of several machines
    sharing the folder) and returns None: a run with share (1, 1) then finds them done and collects them."""
    from joblib import Parallel, delayed

    from osteosim.results.atomic import write_parquet_atomically, write_text_atomically

    arms = {name: arm_config(name) for name in arm_names}
    parts = Path(folder) / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    stamp = parts / "fingerprint.txt"
    key = fingerprint(config, arms, paired, stream_offset)
    if stamp.exists() and stamp.read_text().strip() != key:
        raise ConfigError(f"{parts} holds samples of a different PSA (configuration, arms or pairing changed); "
                          "use another --out or remove it")
    write_text_atomically(stamp, key + "\n")
    blocks = [range(lo, min(lo + BLOCK, n_samples)) for lo in range(0, n_samples, BLOCK)]
    k, n = share
    mine = blocks[k - 1::n]
    todo = [b for b in mine if not _block_path(parts, b).exists()]

    def finished(block: range, frame: pd.DataFrame) -> None:
        write_parquet_atomically(_block_path(parts, block), frame)
        if progress is not None:
            progress(len(block))

    if progress is not None:
        progress(sum(len(b) for b in mine) - sum(len(b) for b in todo))
    if workers > 1 and len(todo) > 1:
        results = Parallel(n_jobs=workers, return_as="generator")(
            delayed(run_block)(config, arms, block, paired, stream_offset) for block in todo)
        for block, frame in zip(todo, results):
            finished(block, frame)
    else:
        for block in todo:
            finished(block, run_block(config, arms, block, paired, stream_offset))
    if share != (1, 1):
        return None
    frame = pd.concat([pd.read_parquet(_block_path(parts, b)) for b in blocks], ignore_index=True)
    frame["arm"] = pd.Categorical(frame["arm"], categories=arm_names)
    return frame.sort_values(["sample", "arm"]).reset_index(drop=True)


def _block_path(parts: Path, block: range) -> Path:
    return parts / f"samples-{block.start:07d}-{block.stop:07d}.parquet"


def wide(psa: pd.DataFrame, measure: str, arms: list[str]) -> np.ndarray:
    """A measure as a samples x arms array, arms in the given order."""
    return psa.pivot(index="sample", columns="arm", values=measure)[arms].to_numpy()


def parameters(psa: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The sampled values, one row per sample."""
    names = columns(config.economics.psa, config)
    return psa.drop_duplicates("sample").set_index("sample")[names]

