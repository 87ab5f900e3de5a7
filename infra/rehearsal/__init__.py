"""`make rehearse`: the packaged functions, configured by Terraform, run locally (rehearse.py)."""
