"""Every operation of the API, described once: what service.web.openapi turns into
the OpenAPI document. tests/unit/test_openapi.py keeps it equal to the routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from service.runs.listing import RunListQuery, RunPage
from service.tes import models as tes
from service.web import api_models as m

JSON, FILE, HTML = "json", "file", "html"
QUERY_WAIT = ("wait", {"type": "number", "minimum": 0, "maximum": 60},
              "wait up to this many seconds for the state to change (0: answer at once)")


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    tag: str
    answer: type[BaseModel] | list[type[BaseModel]] | None = None
    kind: str = JSON  # what a success is: JSON, a file (or JSON), or an HTML page
    auth: str = "none"  # none | token | key (the run key; a token if the site asks)
    query: tuple[tuple[str, dict[str, Any], str], ...] = ()
    query_model: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    run_body: bool = False  # RunParameters, with file uploads
    list_of: bool = False  # the answer is a list of `answer`
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_RUN = "POST software/muse/run/{name}: the seed's document, examples A-F"
_TES = "/ga4gh/tes/v1"
_TES_VIEW = ("view", {"type": "string", "enum": ["MINIMAL", "BASIC", "FULL"],
                      "default": "MINIMAL"},
             "MINIMAL: id and state; BASIC: all but executors' stdout/stderr, inputs' "
             "content and system_logs; FULL: everything")
_TES_PLAIN = {"plain": True}
# GA4GH TES v1.1 (docs/tes.md): the specification's operations and names.
TES_OPERATIONS: tuple[Op, ...] = (
    Op("get", f"{_TES}/service-info", "TES: this service, and the caller's file:// roots "
       "(with a token)", "tes", tes.TesServiceInfo,
       extra={**_TES_PLAIN, "operation_id": "GetServiceInfo"}),
    Op("get", f"{_TES}/tasks", "TES: the caller's tasks, newest first", "tes",
       tes.TesListTasksResponse, auth="token",
       query=(("name_prefix", {"type": "string"}, "tasks whose name starts so"),
              ("state", {"type": "string", "enum": [s.value for s in tes.TesState]},
               "tasks in this state"),
              ("tag_key", {"type": "array", "items": {"type": "string"}},
               "tags the tasks have (zipped with tag_value)"),
              ("tag_value", {"type": "array", "items": {"type": "string"}},
               "their values (empty: any)"),
              ("page_size", {"type": "integer", "minimum": 1, "maximum": 2047},
               "tasks per page (256 by default)"),
              ("page_token", {"type": "string"}, "next_page_token of the last page"),
              _TES_VIEW),
       extra={**_TES_PLAIN, "operation_id": "ListTasks"}),
    Op("post", f"{_TES}/tasks", "TES: create a task (a ws cluster run)", "tes",
       tes.TesCreateTaskResponse, auth="token", body=tes.TesTask,
       extra={**_TES_PLAIN, "json_body": True, "operation_id": "CreateTask"}),
    Op("get", f"{_TES}/tasks/{{id}}", "TES: one of the caller's tasks", "tes",
       tes.TesTaskView, auth="token",
       query=(_TES_VIEW, ("wait", QUERY_WAIT[1], "ws's own: " + QUERY_WAIT[2])),
       extra={**_TES_PLAIN, "operation_id": "GetTask"}),
    Op("post", f"{_TES}/tasks/{{id}}:cancel", "TES: cancel one of the caller's tasks",
       "tes", tes.TesCancelTaskResponse, auth="token",
       extra={**_TES_PLAIN, "operation_id": "CancelTask"}),
)
_ADMIN = "administration; admin users only"
OPERATIONS: tuple[Op, ...] = (
    Op("get", "/api/jwt/obtain", "a form to obtain a token, for a browser", "tokens", kind=HTML),
    Op("post", "/api/jwt/obtain", "obtain a token", "tokens", m.Token, body=m.Credentials),
    Op("get", "/api/jwt/verify", "a form to verify a token, for a browser", "tokens", kind=HTML),
    Op("post", "/api/jwt/verify", "whether a token is valid, for whom, until when", "tokens",
       m.TokenValid, body=m.TokenCheck),
    Op("get", "/api/software/list", "the softwares", "catalogue", m.SoftwareItem,
       list_of=True),
    Op("get", "/api/software/detail/{name}", "a software and its container", "catalogue",
       m.SoftwareDetail),
    Op("get", "/api/container/list", "the containers", "catalogue", m.ContainerItem,
       list_of=True),
    Op("post", "/api/software/run/{name}", "run a software on the service's machine; "
       "the answer is the result", "runs", [m.StdoutAnswer, m.DownloadAnswer], kind=FILE,
       auth="token", run_body=True),
    Op("post", "/api/software/{identity}/run/{name}", "run a software on the cluster",
       "runs", m.RunStarted, auth="token", run_body=True, description=_RUN),
    Op("get", "/api/software/{identity}/state/{name}/{key}",
       "a cluster run's state (cr WAIT, OK or NOK), waiting for a change if asked", "runs",
       m.StateAnswer, auth="key", query=(QUERY_WAIT,)),
    Op("get", "/api/software/{identity}/run/{name}/{key}",
       "a cluster run's results, as its request asked (409 before it ends OK)", "runs",
       [m.StdoutAnswer, m.DownloadAnswer], kind=FILE, auth="key"),
    Op("get", "/api/software/{identity}/content/{name}/{key}",
       "a run's whole folder as a zip, at any time", "runs", kind=FILE, auth="key"),
    Op("post", "/api/software/{identity}/cancel/{name}/{key}",
       "cancel the caller's cluster run: its Slurm jobs are cancelled, it ends NOK "
       "(latest_state CANCELLED)", "runs", m.StateAnswer, auth="token"),
    Op("get", "/api/run/list", "the caller's runs, newest first, paged, filtered by state "
       "and software", "runs", RunPage, auth="token", query_model=RunListQuery),
    Op("get", "/api/download", "results kept by todownload=yes", "runs", kind=FILE,
       query=(("key", {"type": "string"}, "the download key, YYYYMMDD_HHMMSS_<uuid4>"),)),
    Op("get", "/api/admin", "users, softwares, containers and access: " + _ADMIN, "admin",
       m.AdminAnswer, auth="token", extra={"html": True}),
    *(Op("post", f"/api/admin/{what}/{verb}", f"{what} {verb}: {_ADMIN}", "admin",
         m.AdminAnswer, auth="token", body=m.AdminAnswer)
      for what, verbs in (("user", ("add", "remove", "password", "update")),
                          ("container", ("add", "update", "remove")),
                          ("software", ("add", "update", "remove")),
                          ("access", ("grant", "revoke")))
      for verb in verbs),
    *(Op("get", path.format(level=level), summary + (" at this level" if level else ""),
         "access", list_of=True, auth="token")
      for level in ("", "/{level}")
      for path, summary in (
          ("/api/software/{{softwarename}}/access{level}/user/name/list",
           "users with access to a software (a non-admin sees only themself)"),
          ("/api/container/{{containername}}/access{level}/user/name/list",
           "users with access to a container (a non-admin sees only themself)"),
          ("/api/user/{{username}}/access{level}/software/name/list",
           "softwares a user has access to (a non-admin: only their own)"),
          ("/api/user/{{username}}/access{level}/container/name/list",
           "containers a user has access to (a non-admin: only their own)"))),
    *TES_OPERATIONS,
    Op("get", "/api/openapi.json", "this description", "meta", kind=JSON,
       extra={"plain": True}),
    Op("get", "/api/docs", "this description, browsable", "meta", kind=HTML),
)
