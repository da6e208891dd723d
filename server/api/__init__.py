"""The JSON HTTP API (docs/api.md): create sessions, mint tokens, self-join, summaries."""
