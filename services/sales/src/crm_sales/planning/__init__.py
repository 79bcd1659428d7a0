"""Exchange rates and quotas: what the sales service's reports convert with and compare to."""
