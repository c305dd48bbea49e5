"""Read models: progress and results against independent computations."""
