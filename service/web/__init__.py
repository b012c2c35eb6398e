"""HTTP: the app factory, typed app keys, middleware, parameter reading, formats,
handlers (one module per resource).

May import: anything. The only package that imports aiohttp."""
