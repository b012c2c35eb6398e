"""A run's parameters, declared once (RunParameters, a pydantic model): the
client's values are validated against it, and the OpenAPI description comes
from it. parse_run_request turns valid parameters into a RunRequest.

Values arrive as the client sent them: strings from forms and query strings,
JSON types from a JSON body, lists as JSON text or as lists. The validators
take each the way the API always has, and refuse with InvalidParameter (a
domain error, which pydantic lets through unchanged) and the same words."""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from service.core.errors import InvalidParameter, TooLarge
from service.core.params import FORMATS, Params, UploadedFile, json_value, scalar_text
from service.runs.request import RunRequest
from service.runs.sbatch_options import parse_sbatch_list
from service.runs.singularity_options import parse_cmd_option

RETURNED_TYPES = ("stdout", "stdout.txt", "run.zip")
YES = ("yes", "true", "1")
NO = ("no", "false", "0", "")
MODULE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}(/[A-Za-z0-9][A-Za-z0-9._+-]{0,99})?",
                       re.ASCII)
CLUSTER_ONLY = ("sbatch_list", "module_list")
# Snakemake hands a rule's shell command to bash as one argument only up to
# 64 KiB (snakemake.shell.MAX_ARG_LEN), counted after it has quoted it; a longer
# one goes to a script under .snakemake/, which the container does not see. The
# command is quoted twice (the rule's `:q`, then Snakemake's own '\'' for the
# whole line), and the rule's own text needs room too.
MAX_CMD_QUOTED = 64 * 1024 - 1 - 2048


def _text(value: Any, info: ValidationInfo) -> str:
    return scalar_text(str(info.field_name), value)


def _one_of(allowed: tuple[str, ...], default: str) -> BeforeValidator:
    def check(value: Any, info: ValidationInfo) -> str:
        text = _text(value, info) or default
        if text not in allowed:
            raise InvalidParameter(f"bad {info.field_name} {text!r}",
                                   [f"allowed: {', '.join(allowed)}"])
        return text
    return BeforeValidator(check)


def _todownload(value: Any, info: ValidationInfo) -> bool:
    text = _text(value, info).lower()
    if text not in YES + NO:
        raise InvalidParameter(f"bad todownload {text!r}", ["allowed: yes, no"])
    if text in YES and info.data.get("returned_type", "stdout") == "stdout":
        raise InvalidParameter("todownload=yes needs returned_type stdout.txt or run.zip",
                               ["allowed with todownload=yes: stdout.txt, run.zip"])
    return text in YES


def _json(value: Any, name: str) -> Any:
    return json_value(name, value, (list, dict), "a JSON list")


def _string_list(value: Any, info: ValidationInfo) -> list[str]:
    name = str(info.field_name)
    found = _json(value, name)
    if found is None:
        return []
    if not isinstance(found, list) or not all(isinstance(v, str) for v in found):
        raise InvalidParameter(f"{name} must be a JSON list of strings")
    return found


def _cmd(value: Any, info: ValidationInfo) -> str:
    cmd = _text(value, info)
    if "\x00" in cmd:
        raise InvalidParameter("cmd may not contain NUL characters")
    if quoted_length(cmd) > MAX_CMD_QUOTED:
        raise TooLarge("cmd is too long", [
            f"the limit is {MAX_CMD_QUOTED} bytes once quoted for the shell (each "
            f"' counts as 17; this one is {quoted_length(cmd)})",
            "send a longer command as an uploaded script: file=run.sh, cmd=run.sh"])
    return cmd


def quoted_length(cmd: str) -> int:
    """The command's length in bytes as Snakemake's shell() measures it."""
    return len(shlex.quote("./" + cmd).replace("'", "'\\''").encode())


def _cmd_option(value: Any, info: ValidationInfo) -> str:
    raw = _text(value, info)
    parse_cmd_option(raw, (info.context or {}).get("allowed_binds", ()))
    return raw


def _sbatch_list(value: Any, info: ValidationInfo) -> list[str]:
    pairs = parse_sbatch_list(_json(value, "sbatch_list"))
    return [f"--{k}={v}" for k, v in pairs]


def _module_list(value: Any, info: ValidationInfo) -> list[str]:
    modules = _string_list(value, info)
    for m in modules:
        if not MODULE_RE.fullmatch(m):
            raise InvalidParameter(f"bad module name {m!r}",
                                   ["expected name or name/version"])
    return modules


class RunParameters(BaseModel):
    """What a client may send to start a run (besides `file` uploads and `jwt`).
    Fields are validated in this order; the first refusal is the answer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    returned_type: Annotated[
        Literal["stdout", "stdout.txt", "run.zip"], _one_of(RETURNED_TYPES, "stdout"),
        Field(description="what the results are: the command's stdout as a string, "
                          "stdout.txt, or the run folder as run.zip")] = "stdout"
    todownload: Annotated[
        bool, BeforeValidator(_todownload),
        Field(description="yes: keep the results for GET download/?key=KEY "
                          "(needs returned_type stdout.txt or run.zip)")] = False
    format: Annotated[
        Literal["json", "api", "yaml", "xml"], _one_of(FORMATS, "json"),
        Field(description="the format of the answer")] = "json"
    cmd_option: Annotated[
        str, BeforeValidator(_cmd_option),
        Field(description="Singularity options: --bind (paths inside the run folder, or "
                          "allowed host paths read-only), --pwd, --env, --cleanenv, ...")] = ""
    cmd: Annotated[
        str, BeforeValidator(_cmd),
        Field(description="the command run in the container; naming an uploaded file "
                          "runs that file")] = ""
    files_order: Annotated[
        list[str], BeforeValidator(_string_list),
        Field(description="JSON list naming every uploaded file, in the order wanted")] = []
    sbatch_list: Annotated[
        list[str], BeforeValidator(_sbatch_list),
        Field(description="cluster runs: JSON list of --option=value (mail-user, "
                          "mail-type, time, mem, cpus-per-task, partition, qos)")] = []
    module_list: Annotated[
        list[str], BeforeValidator(_module_list),
        Field(description="cluster runs: JSON list of environment modules to load")] = []


def _files_order(order: list[str], files: list[UploadedFile]) -> tuple[str, ...]:
    names = [f.name for f in files]
    if not order:
        return tuple(dict.fromkeys(names))
    unknown = [n for n in order if n not in names]
    if unknown:
        raise InvalidParameter("files_order names files that were not uploaded",
                               [f"not uploaded: {n!r}" for n in unknown])
    return tuple(order)


def _option_value(item: str) -> tuple[str, str]:
    option, _, value = item.removeprefix("--").partition("=")
    return option, value


def parse_run_request(params: Params, cluster: bool,
                      allowed_binds: tuple[str, ...] = ()) -> RunRequest:
    """`allowed_binds`: host paths the administrator lets runs bind read-only."""
    if not cluster and any(params.values.get(name) for name in CLUSTER_ONLY):
        raise InvalidParameter("sbatch_list and module_list are for cluster runs "
                               "(POST /api/software/muse/run/{name})")
    values = {name: value for name, value in params.values.items()
              if name in RunParameters.model_fields}
    run = RunParameters.model_validate(values, context={"allowed_binds": allowed_binds})
    options, binds = parse_cmd_option(run.cmd_option, allowed_binds)
    return RunRequest(
        cmd=run.cmd,
        cmd_option=run.cmd_option,
        singularity_options=options,
        binds=binds,
        ordered_filename_list=_files_order(run.files_order, params.files),
        returned_type=run.returned_type,
        todownload=run.todownload,
        format=run.format,
        sbatch=tuple(_option_value(item) for item in run.sbatch_list),
        module_list=tuple(run.module_list),
    )
