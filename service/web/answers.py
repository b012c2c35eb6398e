"""A finished run's results as its request asked: a download key, stdout in the
answer, or a file; and the bound on large answers in flight.

Long stdouts and zips hold a slot of LargeAnswers (large_answers.py) until
their client has them."""

from __future__ import annotations

import asyncio
import codecs
import json
import uuid
from typing import Any, BinaryIO

from aiohttp import web

from service.core.errors import TooLarge
from service.runs.folder import RunFolder
from service.runs.handover import handover_for
from service.runs.record import RunRecord
from service.runs.results import (
    MAX_STDOUT_HELD,
    MAX_STDOUT_JSON_BYTES,
    download_message,
    file_size,
    open_stdout,
    read_stdout,
    result_file,
    store_download,
    temp_zip,
)
from service.web.files import CHUNK, send_file
from service.web.formats import SMALL_STDOUT, render, render_stdout
from service.web.keys import CONFIG_KEY, LARGE_ANSWERS_KEY
from service.web.middleware import with_browser_headers


async def send_results(request: web.Request, folder: RunFolder, record: RunRecord,
                       report: dict[str, Any], fmt: str) -> web.StreamResponse:
    config = request.app[CONFIG_KEY]
    req = record.request
    # In mode "unix", what the run closed to the service is handed over by its user.
    handover = handover_for(config)
    if req.todownload:
        key = await asyncio.to_thread(store_download, folder, req.returned_type,
                                      config.downloads_dir, handover)
        return render(download_message(config.server.public_url, key), fmt)
    if req.returned_type == "stdout":
        # Opened once: its size and its bytes are of the same file.
        limit = MAX_STDOUT_JSON_BYTES if fmt == "json" else MAX_STDOUT_HELD
        f = await asyncio.to_thread(open_stdout, folder, handover, limit)
        try:
            size = file_size(f)
            if fmt == "json" and size > MAX_STDOUT_JSON_BYTES:
                raise TooLarge(f"stdout is over {MAX_STDOUT_JSON_BYTES} bytes: too large "
                               "for a JSON answer",
                               ["ask for returned_type stdout.txt or run.zip"])
            if fmt != "json" or size <= SMALL_STDOUT:
                # Held in memory: small, or at most MAX_STDOUT_HELD (413 beyond).
                stdout = await asyncio.to_thread(read_stdout, f)
                if len(stdout) <= SMALL_STDOUT:
                    return await render_stdout(stdout, report, fmt)
                async with request.app[LARGE_ANSWERS_KEY].slot():
                    return await _stream(request, await render_stdout(stdout, report, fmt))
            async with request.app[LARGE_ANSWERS_KEY].slot():
                return await _stream_json_stdout(request, f, report)
        finally:
            if f is not None:
                f.close()
    if req.returned_type == "run.zip":
        async with request.app[LARGE_ANSWERS_KEY].slot():
            result = await asyncio.to_thread(result_file, folder, req.returned_type,
                                             config.runs_dir, handover)
            return await send_file(request, result)
    result = await asyncio.to_thread(result_file, folder, req.returned_type, config.runs_dir,
                                     handover)
    return await send_file(request, result)  # stdout.txt: read from disk in chunks


async def send_content(request: web.Request, folder: RunFolder) -> web.StreamResponse:
    """The whole run folder as a zip."""
    config = request.app[CONFIG_KEY]
    async with request.app[LARGE_ANSWERS_KEY].slot():
        result = await asyncio.to_thread(temp_zip, folder, config.runs_dir,
                                         handover_for(config))
        return await send_file(request, result)


async def _stream_json_stdout(request: web.Request, f: BinaryIO | None,
                              report: dict[str, Any]) -> web.StreamResponse:
    """{"info": {"stdout", "report"}} as JSON, stdout (`f`, from open_stdout) read
    from disk and escaped a chunk at a time: the answer's memory does not grow
    with the stdout. Its final newline is left out, as read_stdout does."""
    marker = uuid.uuid4().hex
    head, tail = json.dumps({"info": {"stdout": marker, "report": report}},
                            ensure_ascii=False).split(f'"{marker}"', 1)
    out = web.StreamResponse()
    out.content_type = "application/json"
    out.charset = "utf-8"
    with_browser_headers(out)
    await out.prepare(request)
    await out.write(f'{head}"'.encode())
    if f is not None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        held = ""  # a newline that may be the last one
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            text = held + decoder.decode(chunk)
            text, held = (text[:-1], "\n") if text.endswith("\n") else (text, "")
            await out.write(json.dumps(text, ensure_ascii=False)[1:-1].encode())
        text = (held + decoder.decode(b"", final=True)).removesuffix("\n")
        await out.write(json.dumps(text, ensure_ascii=False)[1:-1].encode())
    await out.write(f'"{tail}'.encode())
    await out.write_eof()
    return out


async def _stream(request: web.Request, answer: web.Response) -> web.StreamResponse:
    """Send a built answer in chunks before returning, so that its slot is held
    until the client has it all."""
    body = answer.body
    assert isinstance(body, bytes)
    out = web.StreamResponse(status=answer.status)
    out.content_type = answer.content_type
    if answer.charset:
        out.charset = answer.charset
    out.content_length = len(body)
    with_browser_headers(out)
    await out.prepare(request)
    view = memoryview(body)
    for start in range(0, len(body), CHUNK):
        await out.write(view[start:start + CHUNK])
    await out.write_eof()
    return out
