"""A transparency-log witness (https://c2sp.org/tlog-witness): its own process, key and state.

``check``: the add-checkpoint decision, pure. ``state``: the latest cosigned checkpoint per log,
durable (SQLite, one transaction per decision). ``server``: the HTTP face (``elicense witness
serve``). ``client``: the log's side of the protocol; ``collector``: the issuing service's
background loop that asks the witnesses and stores their cosignatures.
"""
