"""Breakout groups mixed across classes (docs/protocol.md section 27): the assignment
(mixing.py), the state (model.py), the command rules (rules.py) and the reducer (reducer.py)."""
