"""`make bench`: throughput, latency, rebuild rate and memory, beside a plain CRUD baseline."""
