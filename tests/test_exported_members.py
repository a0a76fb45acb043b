import types

import rongpub


def test_all_is_sorted_and_names_every_public_member() -> None:
    exported = rongpub.__all__
    assert exported == sorted(exported)
    members = {
        name
        for name, value in vars(rongpub).items()
        if name[0].isalpha() and not isinstance(value, types.ModuleType)
    }
    assert set(exported) == members - {"annotations"}


def test_every_public_name_has_a_docstring() -> None:
    for name in rongpub.__all__:
        assert getattr(rongpub, name).__doc__, name
