"""Where corridor's data is kept: the eventsourcing application and its recorders (events,
hash chain, receipts in one transaction), per-person data keys and sealing, secrets."""
