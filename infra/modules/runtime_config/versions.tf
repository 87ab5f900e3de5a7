# No provider on purpose: this module only computes values, so `make rehearse` evaluates
# it with the real Terraform binary offline (`terraform init` needs nothing to download).
terraform {
  required_version = ">= 1.6"
}
