"""`make bench`: build a database with N orders and measure the dashboard on it.

`python -m bench --n N` (see bench/__main__.py). The data generator (bench/generate.py) writes
rows with bulk inserts and COPY, bypassing the state machines on purpose; everything else in
the project changes statuses only through transitions.
"""
