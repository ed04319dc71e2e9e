variable "port" {
  type    = number
  default = 7070
}

job "store" {
  group "store" {
    network {
      port "db" {
        static = var.port
      }
    }

    task "store" {
      driver = "raw_exec"

      config {
        command = "python3"
        args    = ["-m", "http.server", "${NOMAD_PORT_db}", "--bind", "127.0.0.1"]
      }

      resources {
        cpu    = 50
        memory = 64
      }
    }
  }
}
