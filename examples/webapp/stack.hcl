# A three-level stack: a key-value store (from a module), two services that need it, a batch
# preflight that must exit 0, a worker gated on the preflight, and a periodic report.

stack {
  name = "webapp"

  apply {
    parallelism = 4
    timeout     = "5m"
  }
}

variable "greeting" {
  type    = string
  default = "hello"
}

variable "api_token" {
  type      = string
  default   = "change-me"
  sensitive = true
}

module "store" {
  source = "../../modules/kv-store"
  port   = 7070
}

dependency "api" {
  depends_on = [module.store]
}

dependency "frontend" {
  depends_on = [module.store]
}

dependency "preflight" {
  depends_on = [job.api]
}

dependency "worker" {
  depends_on = [job.preflight, job.frontend]
}

output "store_port" {
  value = module.store.port
}
