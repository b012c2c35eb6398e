"""Run parameters: defaults, normalisation and every refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.core.errors import InvalidParameter
from service.core.params import Params, UploadedFile
from service.runs.parameters import parse_run_request
from service.runs.request import RunRequest
from service.runs.sbatch_options import mem_mb, time_minutes


def parse(cluster: bool = True, files: list[str] | None = None, **values: Any) -> RunRequest:
    uploads = [UploadedFile(n, Path("/nonexistent"), 0) for n in files or []]
    return parse_run_request(Params(values=values, files=uploads), cluster=cluster)


def test_defaults_and_report() -> None:
    req = parse(cmd="python /add.py 4 5")
    assert req.report(cluster=True) == {
        "cmd": "python /add.py 4 5", "cmd_option": "", "ordered_filename_list": [],
        "returned_type": "stdout", "todownload": False, "sbatch_list": [], "module_list": []}
    assert "sbatch_list" not in req.report(cluster=False)


def test_round_trip() -> None:
    import json
    from dataclasses import asdict
    req = parse(cmd="x", cmd_option="--bind data:/data:ro --cleanenv",
                sbatch_list='["--mail-user=a@b.org"]', module_list=["hello/1.0"])
    assert RunRequest.from_dict(json.loads(json.dumps(asdict(req)))) == req


@pytest.mark.parametrize("value,expected", [("yes", True), ("no", False), (True, True),
                                            ("false", False)])
def test_todownload(value: Any, expected: bool) -> None:
    assert parse(todownload=value, returned_type="run.zip").todownload is expected


@pytest.mark.parametrize("values", [
    {"returned_type": "exe"},
    {"todownload": "maybe"},
    {"todownload": "yes", "returned_type": "stdout"},
    {"format": "html"},
    {"cmd": "a\x00b"},
    {"cmd": ["a"]},
    {"files_order": "not json"},
    {"files_order": '{"a": 1}'},
    {"files_order": "[1, 2]"},
    {"files_order": '["missing.txt"]'},
    {"cmd_option": "--bind /:/host"},
    {"cmd_option": "--bind ../x:/x"},
    {"cmd_option": "--bind a/../../x:/x"},
    {"cmd_option": "--bind data:relative"},
    {"cmd_option": "--bind data:/x:rx"},
    {"cmd_option": "--writable"},
    {"cmd_option": "--fakeroot"},
    {"cmd_option": "--home /root"},
    {"cmd_option": "-B"},
    {"cmd_option": "'unclosed"},
    {"sbatch_list": '["--wrap=rm -rf /"]'},
    {"sbatch_list": '["--uid=0"]'},
    {"sbatch_list": '["--chdir=/"]'},
    {"sbatch_list": '["--output=/etc/x"]'},
    {"sbatch_list": '["--mail-user"]'},
    {"sbatch_list": '["--mail-user=not an address"]'},
    {"sbatch_list": '["--mail-type=SOMETIMES"]'},
    {"sbatch_list": '["--time=soon"]'},
    {"sbatch_list": '["--mem=lots"]'},
    {"sbatch_list": '["--cpus-per-task=0"]'},
    {"sbatch_list": '["--partition=a;b"]'},
    {"sbatch_list": '["--qos=x\\ny"]'},
    {"sbatch_list": "[1]"},
    {"module_list": '["../etc"]'},
    {"module_list": '["a b"]'},
    {"module_list": '["x;rm"]'},
])
def test_refusals(values: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter):
        parse(**values)


def test_sbatch_list_mail_type_defaults_to_all() -> None:
    req = parse(sbatch_list=["--mail-user=a@b.org"])
    assert req.sbatch_list == ["--mail-user=a@b.org", "--mail-type=ALL"]
    req = parse(sbatch_list={"mail-user": "a@b.org", "mail-type": "end,fail", "time": "5"})
    assert req.sbatch_list == ["--mail-user=a@b.org", "--mail-type=END,FAIL", "--time=5"]


def test_local_runs_take_no_sbatch_list() -> None:
    with pytest.raises(InvalidParameter):
        parse(cluster=False, sbatch_list='["--time=5"]')


def test_cmd_option_binds_and_flags() -> None:
    req = parse(cmd_option="--cleanenv --bind data:/data:ro,out:/out --pwd /data "
                           "--env A=1")
    assert req.singularity_options == ("--cleanenv", "--pwd", "/data", "--env", "A=1")
    assert [(b.source, b.target, b.read_only) for b in req.binds] == [
        ("data", "/data", True), ("out", "/out", False)]


def test_files_order() -> None:
    assert parse(files=["b", "a"]).ordered_filename_list == ("b", "a")
    assert parse(files=["b", "a"], files_order='["a","b"]').ordered_filename_list == (
        "a", "b")


@pytest.mark.parametrize("text,minutes", [("5", 5), ("1:30", 2), ("01:00:00", 60),
                                          ("1-0", 1440), ("2-03:04", 2 * 1440 + 184)])
def test_time_minutes(text: str, minutes: int) -> None:
    assert time_minutes(text) == minutes


def test_mem_mb() -> None:
    assert (mem_mb("500"), mem_mb("2G"), mem_mb("1024K")) == (500, 2048, 1)


def test_a_command_over_64_kib_is_refused_up_front() -> None:
    from service.core.errors import TooLarge
    from service.runs.parameters import MAX_CMD_QUOTED, quoted_length
    parse(cmd="echo " + "x" * 60_000)  # long, but fits
    with pytest.raises(TooLarge) as e:
        parse(cmd="echo " + "x" * (72 * 1024))
    assert str(MAX_CMD_QUOTED) in e.value.more[0]
    # Quotes grow when quoted: 10 000 of them are over the limit.
    assert quoted_length("'" * 10_000) > MAX_CMD_QUOTED
    with pytest.raises(TooLarge):
        parse(cmd="'" * 10_000)
    with pytest.raises(TooLarge):  # counted in bytes: ARG_MAX is in bytes
        parse(cmd="é" * 40_000)
