"""The sans-I/O session core: state, the pure reducer over the ordered log, and command rules.

Nothing in this package may import asyncio, starlette, uvicorn, websockets or redis (a test checks
it): every replica, on every worker, must compute the same state from the same log, so the core
reads no clock, does no I/O and draws no random numbers. Time comes in as event timestamps.
"""
