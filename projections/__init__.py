"""Read models: pure projection functions (event record in, row changes out) and writers.

Modules:
- records: EventRecord, the one input of every projection, and decode_stored.
- changes: Insert, Upsert, Update, Increment, Latest, Delete (what projections return).
- case_board, audit_trail, workload, resource_directory: the projections and their tables;
  catalog: the four as Projection values (name, version, tables, project).
- schema, sql, batching: tables in PostgreSQL/SQLite, SQL per change shape, statement plans.
- memory: the same tables in memory (rebuilds, reference for tests).
- tracking, generations: positions and blue/green generations (projection_tracking,
  projection_generations), written in the same transaction as the changes.
- store, pg_store, sqlite_store: the writers (asyncpg; sqlite3 in a dedicated thread).
- runner: the in-process runner over the store's notification log.
- worker: projection workers in a Kafka consumer group (run_kafka_worker).
- rebuild, parallel, sources: rebuild into a new generation and switch without downtime.
- service, views, metrics: what the HTTP API reads (services/api/queries.py serves it).
- cli: `corridor rebuild` and `corridor project --from store|kafka`.
"""
