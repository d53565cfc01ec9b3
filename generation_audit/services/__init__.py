"""Licensed AI services: the adapter interface, the adapters (built-in recommender, HTTP, Python
class) and the gateway every call goes through."""
