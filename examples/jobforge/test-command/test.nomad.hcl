# Phase 2 of the seed jobforge, custom-commands mode (JobSpec.md, "Testing Configuration"):
# one batch job per test command, running `sh -c COMMAND` in the image the build phase made.
# The stack instantiates this module once per command; the jobs run in parallel.

variable "image_name" {
  type = string
}

variable "slot" {
  type        = string
  description = "Distinguishes this command's job from the others"
}

variable "command" {
  type = string
}

job "test" {
  id   = "jobforge-test-${var.slot}"
  type = "batch"

  meta {
    test_command = var.command
  }

  group "test" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "test" {
      driver = "docker"

      config {
        image   = "temp/${var.image_name}:latest"
        command = "sh"
        args    = ["-c", var.command]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
