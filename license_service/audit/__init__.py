"""``elicense audit``: an auditor's check of the issuance log and the registry, trusting only what
hashes and signatures prove. ``check`` (the log) and ``reconcile`` (the registry against the log)
are pure; ``client`` is the only module that talks HTTP, bounded against a hostile server; ``run``
puts the checks in order over what the client fetches and keeps the auditor's state file."""
