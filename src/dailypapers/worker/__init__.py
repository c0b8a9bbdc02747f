"""The background worker: the job loop (loop), the kinds of job it runs (jobs) and the embedding job
(embedding) that gives papers their vectors."""
