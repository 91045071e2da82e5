"""What users start: the ``triangle`` command line and the web demo."""
