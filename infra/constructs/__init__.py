"""One construct per concern: ledger, alerts, dead letters, parameters, functions, schedules,
deadlines, state-change events and monitoring. `stack.py` wires them together."""
