"""`corridor bench`: throughput, latency, projection lag, rebuild, replay and memory figures,
each printed beside the baselines measured in the same run (docs/benchmarks.md)."""
