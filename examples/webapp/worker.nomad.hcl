job "worker" {
  group "worker" {
    count = 1

    task "worker" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo working; sleep 5; done"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
