"""Loaded at start by every Python process with this folder on its PYTHONPATH (the bench
puts it there only for the servers of its cost section): counts their billable calls."""

from bench import opcount

opcount.install_from_env()
