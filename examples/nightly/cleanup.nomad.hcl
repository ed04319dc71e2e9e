job "cleanup" {
  type = "batch"

  parameterized {
    payload       = "forbidden"
    meta_required = ["older_than_days"]
  }

  group "cleanup" {
    task "cleanup" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo removing files older than ${NOMAD_META_older_than_days} days"]
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
