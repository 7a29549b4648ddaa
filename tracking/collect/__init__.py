"""The collect path: beacon validation (`parsing`, pure), the Redis buffer and counters (`buffer`)."""
