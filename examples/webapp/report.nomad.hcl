job "report" {
  type = "batch"

  periodic {
    crons            = ["*/10 * * * *"]
    prohibit_overlap = true
  }

  group "report" {
    task "report" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "date; echo report done"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
