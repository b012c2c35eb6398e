"""The one name rule: a whole-string match, so no trailing newline slips through."""

from __future__ import annotations

import pytest

from service.core.errors import InvalidParameter
from service.core.names import check_name, is_name


@pytest.mark.parametrize("name", ["alice", "sw_example", "a.b-c", "A" * 64])
def test_good_names(name: str) -> None:
    assert check_name("user", name) == name
    assert is_name(name)


@pytest.mark.parametrize("name", ["alice\n", "sw_example\n", "a\nb", "\nalice", "", ".x",
                                  "-x", "A" * 65, "a b", "a/b", "é"])
def test_bad_names_are_refused_whole(name: str) -> None:
    with pytest.raises(InvalidParameter):
        check_name("software", name)
    assert not is_name(name)
