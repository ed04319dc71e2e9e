# What the seed takes for granted: an HTTP server at jam_url that holds, per chain, the
# validator binary (`<chain>/jamduna`), the chain spec (`<chain>/spec.json`) and one key seed
# per validator (`<chain>/keys/seed_N`). Here it is a job of the stack: `python3 -m
# http.server` over a directory its start script fills, with the stand-in validator of
# chain/validator.py as the binary.

variable "chain_name" {
  type    = string
  default = "jamduna"
}

variable "chain_port" {
  type        = number
  default     = 8090
  description = "Port of the chain file server (jam_url must point at it)"
}

variable "validator_count" {
  type    = number
  default = 6
}

variable "validator_base_port" {
  type        = number
  default     = 40000
  description = "Validator N listens on validator_base_port + N"
}

job "jamduna-chain" {
  datacenters = ["dc1"]
  type        = "service"

  group "files" {
    network {
      port "http" {
        static = var.chain_port
      }
    }

    update {
      min_healthy_time = "2s"
    }

    task "http" {
      driver = "raw_exec"

      template {
        data        = file("chain/validator.py")
        destination = "local/jamduna-bin"
        perms       = "0755"
      }

      template {
        data        = <<EOH
#!/bin/sh
# Lays out the chain directory, then serves it.
set -eu
CHAIN="local/www/${var.chain_name}"
mkdir -p "$CHAIN/keys"
cp local/jamduna-bin "$CHAIN/jamduna"
VALIDATORS=""
i=0
while [ "$i" -lt ${var.validator_count} ]; do
  printf 'jamduna-dev-seed-%s-%s\n' "${var.chain_name}" "$i" | sha256sum | cut -d' ' -f1 > "$CHAIN/keys/seed_$i"
  PORT=$((${var.validator_base_port} + i))
  VALIDATORS="$VALIDATORS$${VALIDATORS:+,}{\"index\": $i, \"address\": \"127.0.0.1\", \"port\": $PORT}"
  i=$((i + 1))
done
printf '{"chain": "%s", "validators": [%s]}\n' "${var.chain_name}" "$VALIDATORS" > "$CHAIN/spec.json"
exec python3 -m http.server "$NOMAD_PORT_http" --bind 127.0.0.1 --directory local/www
EOH
        destination = "local/serve.sh"
        perms       = "0755"
      }

      config {
        command = "local/serve.sh"
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
