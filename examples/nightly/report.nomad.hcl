job "report" {
  type = "batch"

  periodic {
    crons            = ["30 2 * * *"]
    prohibit_overlap = true
  }

  group "report" {
    task "report" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "date; echo nightly report"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
