# Phase 1 of the seed jobforge (JobSpec.md, "Build Phases"): build the image of the project
# under test and tag it temp/<image_name>:latest. What differs: the seed builds with buildah
# in a container pulled from a registry and clones repo_url at git_ref; here no image can be
# pulled and no repository cloned, so a raw_exec task lays out the context from the stack's
# project/ directory, compiles its program with `gcc -static`, adds a static busybox as
# /bin/sh, and runs `docker build` of that FROM scratch context on the client's Docker engine.

variable "image_name" {
  type    = string
  default = "myservice"
}

variable "busybox" {
  type        = string
  default     = "/bin/busybox"
  description = "A static busybox on the client (Debian: busybox-static)"
}

job "jobforge-build" {
  type = "batch"

  group "build" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "build" {
      driver = "raw_exec"

      template {
        data        = file("project/app.c")
        destination = "local/context/app.c"
      }

      template {
        data        = file("project/Dockerfile")
        destination = "local/context/Dockerfile"
      }

      template {
        data        = <<EOH
#!/bin/sh
set -eu
CTX=local/context
mkdir -p "$CTX/bin"
gcc -static -O2 -o "$CTX/app" "$CTX/app.c"
cp "${var.busybox}" "$CTX/bin/busybox"
ln -sf busybox "$CTX/bin/sh"
docker build -q -t "temp/${var.image_name}:latest" "$CTX"
echo "built temp/${var.image_name}:latest"
EOH
        destination = "local/build.sh"
        perms       = "0755"
      }

      config {
        command = "local/build.sh"
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
