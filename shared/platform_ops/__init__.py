"""The platform's own functions as operators see them: their status, logs, restarts, scaling
and rollbacks, through one adapter (`adapter.PlatformAdapter`) with two implementations:
Google's Cloud Run Admin, Logging and Monitoring APIs in a deployment (`google`), and the
stack `make run` started on a laptop (`local`)."""
