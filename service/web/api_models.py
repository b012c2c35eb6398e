"""The HTTP shapes of the API's answers (pydantic models), for the OpenAPI
description; the domain's own models (run parameters, reports, run lists) live
in service/runs and are used here as they are."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.runs.report_models import ClusterReport, LocalReport


class ErrorBody(BaseModel):
    error: str = Field(description="what went wrong")
    more: list[str] = Field(description="details and what to do")
    type: str = Field(description="bad_parameter, unauthorized, forbidden, not_found, "
                                  "conflict, not_ready, too_large, run_failed, ...")
    report: dict[str, Any] | None = Field(default=None,
                                          description="run_failed: the run's report")


class Credentials(BaseModel):
    username: str
    password: str


class TokenCheck(BaseModel):
    jwt: str


class Token(BaseModel):
    jwt: str
    username: str
    expires: str = Field(description="ISO 8601, UTC")


class TokenValid(BaseModel):
    valid: bool
    username: str
    expires: str


class SwInfo(BaseModel):
    desc: str
    shortname: str
    urls: dict[str, str]
    keywords: list[str]


class ContInfo(BaseModel):
    name: str
    type: str = Field(description="docker or singularity")
    image: str
    desc: str


class SoftwareItem(BaseModel):
    class Info(BaseModel):
        sw: SwInfo

    name: str
    info: Info


class SoftwareDetail(BaseModel):
    class Info(BaseModel):
        sw: SwInfo
        cont: ContInfo

    name: str
    info: Info


class ContainerItem(BaseModel):
    class Info(BaseModel):
        cont: ContInfo

    name: str
    info: Info


class RunStarted(BaseModel):
    msg: str
    url: str = Field(description="the state URL; its last segment is the run's key")
    urls: dict[str, str] = Field(description="state, run (results) and content URLs")


class StateAnswer(BaseModel):
    class Info(BaseModel):
        report: ClusterReport

    info: Info
    msg: str
    url: str = Field(description="where to go next")


class StdoutAnswer(BaseModel):
    """returned_type stdout: the command's stdout as a string, with the report."""

    class Info(BaseModel):
        stdout: str
        report: ClusterReport | LocalReport

    info: Info


class DownloadAnswer(BaseModel):
    """todownload=yes: where the results are kept."""

    msg: str
    url: str


class AdminAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
