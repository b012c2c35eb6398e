"""Send a result file from its descriptor (opened once), and close it."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from service.runs.results import FileResult

CHUNK = 256 * 1024


async def send_file(request: web.Request, result: FileResult) -> web.StreamResponse:
    f = result.file
    try:
        size = os.fstat(f.fileno()).st_size
        response = web.StreamResponse(headers={
            "Content-Type": result.content_type,
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "Content-Length": str(size),
        })
        await response.prepare(request)
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        f.close()  # a temporary file, unlinked already, goes with it
