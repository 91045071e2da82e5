"""The county's state: facility levels, the condition catalogue, geography, residents, facilities, the
episode table, the running tally and doctors' pay. Data and the rules that define it; no behaviour."""
