"""benchmark-collector: stores benchmark runs, compares them, draws them."""
