"""The lead dashboard in the browser (docs/dashboard.md): server-rendered pages under /ui,
a signed session cookie instead of the API key, and /docs over /openapi.json."""
