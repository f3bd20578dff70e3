"""Building blocks of the synthetic sample-data generator (fictional city 江州市)."""
