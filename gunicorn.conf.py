"""gunicorn settings, read from the working directory (``gunicorn wsgi:app``)."""


def post_worker_init(worker):
    """Each worker reads its latest rounds into the report cache in the background."""
    from survey.infrastructure.warmup import start_warm_up

    start_warm_up(worker.wsgi)
