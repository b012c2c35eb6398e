"""ListTasks: the caller's tasks, newest first, filtered by name prefix (in SQL),
tags and state (here), in pages whose token is an opaque keyset."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.core.errors import InvalidParameter, NotFound
from service.tes.index import TaskEntry, tasks_of
from service.tes.models import TesState
from service.tes.tasks import TesService, find, view_of
from service.tes.views import View, parse_view

DEFAULT_PAGE = 256
MAX_PAGE = 2047  # "must be less than 2048"


@dataclass(frozen=True)
class ListQuery:
    name_prefix: str | None
    state: TesState | None
    tags: tuple[tuple[str, str], ...]
    page_size: int
    after: tuple[float, str] | None
    view: View

    @classmethod
    def parse(cls, one: Mapping[str, str], many: Mapping[str, Sequence[str]]) -> ListQuery:
        state = one.get("state") or None
        if state is not None and state not in TesState.__members__:
            raise InvalidParameter(f"bad state {state!r}", [", ".join(TesState)])
        keys, values = list(many.get("tag_key", ())), list(many.get("tag_value", ()))
        if len(values) > len(keys):
            raise InvalidParameter("more tag_value than tag_key")
        tags = tuple((k, values[i] if i < len(values) else "") for i, k in enumerate(keys))
        size_text = one.get("page_size") or str(DEFAULT_PAGE)
        if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE:
            raise InvalidParameter(f"bad page_size {size_text!r}",
                                   [f"a whole number from 1 to {MAX_PAGE}"])
        return cls(name_prefix=one.get("name_prefix") or None,
                   state=TesState(state) if state else None, tags=tags,
                   page_size=int(size_text), after=decode_token(one.get("page_token")),
                   view=parse_view(one.get("view")))


def encode_token(after: tuple[float, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode().rstrip("=")


def decode_token(token: str | None) -> tuple[float, str] | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if (isinstance(data, list) and len(data) == 2 and isinstance(data[1], str)
                and isinstance(data[0], (int, float)) and not isinstance(data[0], bool)):
            return float(data[0]), data[1]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidParameter("bad page_token", ["give next_page_token as it was answered"])


def tags_match(wanted: tuple[tuple[str, str], ...], tags: dict[str, str]) -> bool:
    """TES: each key must be there; an empty value matches any."""
    return all(k in tags and (not v or tags[k] == v) for k, v in wanted)


def list_tasks(service: TesService, user: str, query: ListQuery) -> dict[str, object]:
    found: list[dict[str, object]] = []
    after = query.after
    batch_size = min(max(query.page_size, 64), 512)
    more = False
    while True:
        batch = tasks_of(service.store, user, query.name_prefix, after, batch_size)
        for entry in batch:
            view = _view(service, user, entry, query)
            after = (entry.created, entry.id)
            if view is not None:
                found.append(view)
                if len(found) == query.page_size:
                    more = True
                    break
        if more or len(batch) < batch_size:
            break
    answer: dict[str, object] = {"tasks": found}
    if more and after is not None:
        answer["next_page_token"] = encode_token(after)
    return answer


def _view(service: TesService, user: str, entry: TaskEntry, query: ListQuery
          ) -> dict[str, object] | None:
    if not tags_match(query.tags, entry.tags):
        return None
    try:
        task = find(service, user, entry.id)
    except NotFound:  # its folder went meanwhile (retention)
        return None
    view = view_of(service, task, query.view if query.state is None else View.MINIMAL)
    if query.state is not None:
        if view["state"] != query.state.value:
            return None
        view = view_of(service, task, query.view)
    return view
