"""``python -m jobs``: the scheduler process."""

from jobs.scheduler import main

main()
