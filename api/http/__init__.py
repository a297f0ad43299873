"""The HTTP entrypoint: Starlette app, routes, handlers, schemas, OpenAPI, middleware."""
