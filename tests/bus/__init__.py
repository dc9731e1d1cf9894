"""Bus suites: the SocketBus contract over every backend, and the Redis backend."""
