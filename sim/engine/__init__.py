"""The model: ``HealthSystemModel``, which builds the county and steps the daily phases over the
layers below; warming the compiled loops; snapshots at period starts."""
