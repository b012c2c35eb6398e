"""HTTP layer: middleware, parameter reading, response formats, handlers."""
