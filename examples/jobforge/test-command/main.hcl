# One test command of the jobforge pipeline, as a module: the stack instantiates it once per
# entry of its test_commands.

variable "image_name" {
  type        = string
  description = "The image is temp/<image_name>:latest, as the build phase tags it"
}

variable "slot" {
  type        = string
  description = "Distinguishes this command's job (jobforge-test-<slot>) from the others"
}

variable "command" {
  type        = string
  description = "Run as `sh -c COMMAND` in the image"
}
