"""The four services. Each has the same shape:

config.py       Settings (env prefix INTAKE_, ELIGIBILITY_, PAYMENTS_, MONITORING_)
models.py       its tables, in its own PostgreSQL schema
api.py          the FastAPI app (uvicorn services.<name>.api:app)
worker.py       its outbox relay and event consumers (python -m services.<name>.worker)
<domain>/       endpoints.py, service.py, repository.py, schemas.py
migrations/     Alembic, version table in its schema
"""
