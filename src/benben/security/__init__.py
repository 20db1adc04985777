"""Security: the server secret now; identity, policies, tokens and rate limits build on it."""
