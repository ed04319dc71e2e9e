# Phase 3 of the seed jobforge (JobSpec.md, "Build Phases"): tag the tested image with each of
# image_tags, push it to registry_url, and remove the temp tag. What differs: no registry is
# reachable, so `docker save` of each tag into publish_dir stands in for the push.

variable "image_name" {
  type    = string
  default = "myservice"
}

variable "image_tags" {
  type    = list(string)
  default = ["v1.0.0", "latest"]
}

variable "registry_url" {
  type    = string
  default = "registry.example.com:5000/myapp"
}

variable "publish_dir" {
  type        = string
  default     = "/var/tmp/jobforge-registry"
  description = "Where `docker save` writes one archive per tag (the registry's stand-in)"
}

job "jobforge-publish" {
  type = "batch"

  group "publish" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "publish" {
      driver = "raw_exec"

      template {
        data        = <<EOH
#!/bin/sh
set -eu
TEMP="temp/${var.image_name}:latest"
mkdir -p "${var.publish_dir}"
for TAG in ${join(" ", var.image_tags)}; do
  docker tag "$TEMP" "${var.registry_url}:$TAG"
  docker save -o "${var.publish_dir}/${var.image_name}_$TAG.tar" "${var.registry_url}:$TAG"
  echo "published ${var.registry_url}:$TAG"
done
docker rmi "$TEMP"
EOH
        destination = "local/publish.sh"
        perms       = "0755"
      }

      config {
        command = "local/publish.sh"
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
