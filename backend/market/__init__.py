"""The credit market: order relay (validation before acceptance) and the price index."""
