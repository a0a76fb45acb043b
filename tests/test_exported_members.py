"""Each public module's `__all__` is sorted, names every public member, and each has a
docstring (issue #16: rongpub, rongpub.redis, rongpub.aiolimiter, rongpub.emulator,
rongpub.testing)."""

import importlib
import inspect
import types

import pytest

PUBLIC = ["rongpub", "rongpub.redis", "rongpub.aiolimiter", "rongpub.emulator", "rongpub.testing"]


def _isort_style(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions (ruff's RUF022 order)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", PUBLIC)
def test_all_is_sorted_and_names_every_public_member(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported in (sorted(exported), sorted(exported, key=_isort_style))
    assert all(getattr(module, member) is not None for member in exported)
    if hasattr(module, "__getattr__"):  # lazy (rongpub.emulator): names load on first use
        return
    members = {
        member
        for member, value in vars(module).items()
        if member[0].isalpha() and not isinstance(value, types.ModuleType)
    }
    assert set(exported) == members - {"annotations"}


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_has_a_docstring(name: str) -> None:
    module = importlib.import_module(name)
    for member in module.__all__:
        value = getattr(module, member)
        if isinstance(value, type) or inspect.isfunction(value):
            assert value.__doc__, f"{name}.{member}"
