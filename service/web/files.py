"""Send a result file (and remove it afterwards if it was made for this answer)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from service.runs.results import FileResult

CHUNK = 256 * 1024


async def send_file(request: web.Request, result: FileResult) -> web.StreamResponse:
    try:
        size = result.path.stat().st_size
        response = web.StreamResponse(headers={
            "Content-Type": result.content_type,
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "Content-Length": str(size),
        })
        await response.prepare(request)
        with result.path.open("rb") as f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        if result.delete_after:
            result.path.unlink(missing_ok=True)
