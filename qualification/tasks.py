"""Celery tasks of the qualification app: thin, idempotent, one service each."""

from project.celery import app


@app.task(name="qualification.tasks.run_retention", acks_late=True)
def run_retention() -> dict:
    from qualification.services import retention_run

    return retention_run()
