"""What a run reports: metrics (each defined once), period metrics, the runner (replicates,
intervals), reports and plots. Reads the model; never changes it."""
