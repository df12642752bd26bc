"""HTTP routers, one module per area (FastAPI's tutorial layout)."""
