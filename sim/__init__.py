"""triangle: an agent-based model of a county health system and its cost / access / quality triangle."""


def __getattr__(name: str):
    # The version is read from the installed metadata when first asked for, not at import: `import sim` stays
    # cheap, so a command's first moments (when Ctrl-C must still be answered cleanly) import almost nothing.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("triangle-sim")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.0.0+source"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
