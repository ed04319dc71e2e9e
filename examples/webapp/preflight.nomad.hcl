# Must exit 0 before the worker may start.
job "preflight" {
  type = "batch"

  group "check" {
    task "check" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo preflight ok"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
