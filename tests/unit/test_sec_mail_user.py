"""`mail-user` is handed to Slurm, which hands it to the mailer's command line:
a value starting with `-` would be read there as an option."""

from __future__ import annotations

import pytest

from service.core.errors import InvalidParameter
from service.runs.sbatch_options import check_value, parse_sbatch_list


@pytest.mark.parametrize("value", ["-oQ@example.org", "-f@example.org",
                                   "--x@example.org"])
def test_a_mail_user_starting_with_a_dash_is_refused(value: str) -> None:
    with pytest.raises(InvalidParameter, match="mail-user"):
        check_value("mail-user", value)
    with pytest.raises(InvalidParameter, match="mail-user"):
        parse_sbatch_list([f"--mail-user={value}"])
