"""The HTTP API: FastAPI app factory, routes, schemas, auth and problem-details errors."""
