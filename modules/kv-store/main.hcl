# A small key-value store service, as a reusable module.

variable "port" {
  type        = number
  description = "Static port the store listens on."
}

output "port" {
  value = var.port
}
