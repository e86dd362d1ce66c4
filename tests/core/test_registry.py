"""The component registry: built-in names resolve, plugins register by name."""

from __future__ import annotations

import copy

import pytest

from genloop.core import registry
from genloop.core.errors import ConfigError


@pytest.fixture(autouse=True)
def restore_registry():
    saved = copy.deepcopy(registry._KINDS)
    yield
    for kind, table in saved.items():
        registry._KINDS[kind].clear()
        registry._KINDS[kind].update(table)


def test_builtin_names_resolve_to_their_classes():
    from genloop.families.gaussian import Gaussian

    assert registry.resolve("family", "gaussian") is Gaussian


def test_registered_object_resolves_and_builds():
    class Constant:
        def __init__(self, value=1.0):
            self.value = value

    registry.register("family", "constant", Constant)
    assert registry.resolve("family", "constant") is Constant
    built = registry.build("family", {"name": "constant", "value": 3.0})
    assert isinstance(built, Constant) and built.value == 3.0


def test_registered_import_path_is_imported_on_first_use():
    registry.register("family", "gauss2", "genloop.families.gaussian:Gaussian")
    from genloop.families.gaussian import Gaussian

    assert registry.resolve("family", "gauss2") is Gaussian


def test_redefining_a_name_needs_replace():
    registry.register("metric", "mine", object)
    registry.register("metric", "mine", object)  # the same target again is harmless
    with pytest.raises(ConfigError, match="already registered"):
        registry.register("metric", "mine", int)
    registry.register("metric", "mine", int, replace=True)
    assert registry.resolve("metric", "mine") is int
    with pytest.raises(ConfigError, match="already registered"):
        registry.register("family", "gaussian", int)


@pytest.mark.parametrize("name", ["../evil", "a b", "", "x:y"])
def test_names_are_data_not_paths(name):
    with pytest.raises(ConfigError, match="must be letters"):
        registry.register("family", name, object)


def test_unknown_kind_and_unknown_name_say_what_is_known():
    with pytest.raises(ConfigError, match="known"):
        registry.register("widget", "x", object)
    with pytest.raises(ConfigError, match="known family names"):
        registry.resolve("family", "nope")
