"""Reference servers that run the same workload as Classbridge, for side-by-side ratios."""
