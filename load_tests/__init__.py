"""Simulated classes for Classbridge: load generators that drive many clients and report.

``python -m load_tests chat-fanout --help`` lists the options. Everything runs on loopback,
bounded in time and size, and stops by itself.
"""
