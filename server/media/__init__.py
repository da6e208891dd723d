"""Server-side media with aiortc: relay, recorder, synthetic class peer (a later release)."""
