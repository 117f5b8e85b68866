"""Session tracking: per-appliance ICID/MID/DCID state, abort categories, message summaries, report."""
