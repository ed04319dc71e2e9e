# jobforge: build → parallel tests → publish, each a batch job gated on completing with exit 0,
# from the seed jobforge/JobSpec.md (the pipeline jobforge-service.nomad runs per request).
# -atomic as the seed's pipeline: if any phase fails the whole apply fails and what it
# started is undone; publish never runs after a failed test.
#
# The stack language has no for_each, so the tests fan out through one module block per
# command: test_commands must have as many entries as there are test_N modules below (add a
# module block to add a command).

stack {
  name = "jobforge"

  apply {
    atomic  = true
    timeout = "5m"
  }
}

variable "image_name" {
  type    = string
  default = "myservice"
}

variable "test_commands" {
  type    = list(string)
  default = ["/app selftest", "/app --version"]

  validation {
    condition     = length(var.test_commands) == 2
    error_message = "There is one test module per command: test_commands needs exactly two entries (add a test_N module block for more)."
  }
}

module "test_0" {
  source     = "./test-command"
  depends_on = [job.jobforge-build]
  image_name = var.image_name
  slot       = "0"
  command    = var.test_commands[0]
}

module "test_1" {
  source     = "./test-command"
  depends_on = [job.jobforge-build]
  image_name = var.image_name
  slot       = "1"
  command    = var.test_commands[1]
}

dependency "jobforge-publish" {
  depends_on = [module.test_0, module.test_1]
}
