"""The pipeline forecast: opportunities as validity intervals, rates and quotas."""
