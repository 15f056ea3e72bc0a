"""Web plumbing both services stand on: the base app, the request guard, the one error map
(problems), dependencies, rate limits, operations and the trust routes. Nothing here signs."""
