"""Server-side media with aiortc. Now: the synthetic class station (``station``) that tests
and load tests put on a call; later: the relay and the recorder. See docs/architecture.md."""
