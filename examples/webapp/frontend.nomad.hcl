job "frontend" {
  group "web" {
    network {
      port "http" {}
    }

    task "web" {
      driver = "raw_exec"

      config {
        command = "python3"
        args    = ["-m", "http.server", "${NOMAD_PORT_http}", "--bind", "127.0.0.1"]
      }

      resources {
        cpu    = 50
        memory = 64
      }
    }
  }
}
