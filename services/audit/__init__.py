"""Audit: replay a stream event by event and as of any moment, prove the store unaltered
(hash chain, anchors, snapshots), export case histories, and record every auditor's access.

- render / diff / chain / export: pure logic (JSON-safe values with redaction, field diffs,
  chain and anchor checks, JSON/CSV/HTML documents)
- store: the SQL the audit needs (positions, chain rows, the recorded_at index)
- replay, verify, access, queries: the read side; commands: the audit's write commands
- api (`router()`), cli (`register(app)`), anchoring (a startup hook), bench (`measure_as_of`)

Wiring in shared files: import `services.audit.access_commands` in the command catalog, include
`services.audit.api.router()` in the FastAPI app, add "services.cli.audit" to the CLI
plugins, run `services.audit.anchoring.anchoring()` among the duties (services.bootstrap), and
list `AccessLog` and `AnchorLog` (domain.access) among the snapshotted aggregate classes.
"""
