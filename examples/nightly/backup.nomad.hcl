job "backup" {
  type = "batch"

  periodic {
    crons            = ["0 2 * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "backup" {
    task "dump" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "tar -czf ${NOMAD_ALLOC_DIR}/backup.tgz /etc/hostname"]
      }

      resources {
        cpu    = 50
        memory = 64
      }
    }
  }
}
