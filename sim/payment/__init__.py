"""How care is paid for: the payment models (what a case earns a provider; one module each, registered by name in
``registry``, asked through the facade in ``models``), the DRG grouper, the insurance fund, and the medical
community that holds a global budget with the instruments it buys."""
