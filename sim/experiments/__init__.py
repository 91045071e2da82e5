"""Many runs: sweep files and plans, designs, the results store, executors (processes, Dask),
analysis, Pareto fronts, sensitivity, seed facts and calibration."""
