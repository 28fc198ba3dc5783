"""Market facts: the injected Clock, the SPX/SPXW calendar, option pricing and greeks."""
