variable "greeting" {
  type    = string
  default = "hello"
}

variable "api_token" {
  type      = string
  default   = ""
  sensitive = true
}

job "api" {
  group "api" {
    count = 2

    network {
      port "http" {}
    }

    task "api" {
      driver = "raw_exec"

      config {
        command = "python3"
        args    = ["-m", "http.server", "${NOMAD_PORT_http}", "--bind", "127.0.0.1"]
      }

      env {
        GREETING  = var.greeting
        API_TOKEN = var.api_token
      }

      resources {
        cpu    = 50
        memory = 64
      }
    }
  }
}
