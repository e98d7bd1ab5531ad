"""The pure domain of corridor: aggregates, value objects, rules and policies. No I/O."""
