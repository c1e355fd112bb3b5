"""Each conf file's YAML is parsed once per process (osteosim.config.parsing): the compositions are
the same as without the cache, and a file whose text changes is parsed again."""
from omegaconf import OmegaConf

from osteosim.config import compose, parsing

OVERRIDES = [[], ["scenario=early_palliative"], ["cohort=trial", "arm=mifamurtide", "economics=us"]]


def test_compositions_with_the_cache_equal_those_without(monkeypatch):
    cached = [repr(compose(o)) for o in OVERRIDES]
    monkeypatch.setattr(OmegaConf, "load", staticmethod(parsing._original))
    assert [repr(compose(o)) for o in OVERRIDES] == cached


def test_a_changed_file_is_parsed_again(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\nb: [1, 2]\n")
    first = parsing.load(path)
    first.b.append(3)                      # a loaded config is the caller's own: changing it changes no cache
    assert OmegaConf.to_container(parsing.load(path)) == {"a": 1, "b": [1, 2]}
    path.write_text("a: 2\n")
    assert OmegaConf.to_container(parsing.load(path)) == {"a": 2}
