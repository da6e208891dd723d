"""Server-side media with aiortc: the synthetic class station (``station``) that tests and
load tests put on a call, the relay (``relay_*``) and the recorder (``recorder``). See
docs/architecture.md."""
