# Follows the seed jamduna/duna_toaster.hcl (see its DUNA-HCL.md). What differs, and why:
# - values the seed hard-codes for its own hosts are variables whose defaults are the seed's:
#   jam_url, the disk root (/mnt), the memory (2000 MB; DUNA-HCL.md shows 16000), and the
#   number subtracted from a host's numeric suffix to get its validator INDEX (2);
# - `namespace = "jamduna"` is left out: the namespace must exist before a job can use it,
#   and the stack runs in the default one;
# - the last line, `sleep 6000`, is gone: it kept a finished validator's allocation alive, and
#   this batch job's `complete` gate is what says the chain came up;
# - the curl calls retry, since six validators start at once against one file server.
# Everything else (constraints, meta, the start script's steps, logs) is the seed's.

variable "jam_url" {
  type        = string
  default     = "http://coretime.jamduna.org"
  description = "Where the chain files are served (this stack's jamduna-chain job on the local cluster)"
}

variable "chain_name" {
  type    = string
  default = "jamduna"
}

variable "disk_root" {
  type        = string
  default     = "/mnt"
  description = "Where the nvme_drive_N data disks are mounted"
}

variable "memory" {
  type        = number
  default     = 2000
  description = "Memory per validator, MB"
}

variable "host_index_offset" {
  type        = number
  default     = 2
  description = "INDEX = the numeric suffix of the host's short name minus this"
}

job "jamduna" {
  datacenters = ["dc1"]
  type        = "batch"

  group "jamduna" {

    constraint {
      attribute = "${meta.jamduna}"
      operator  = "="
      value     = "true"
    }
    constraint {
      distinct_hosts = true
    }

    meta {
      jam_url         = var.jam_url
      jam_id          = "jamduna"
      jam_log         = "info"
      node_update     = true
      node_clean      = true
      node_disk_count = 1
      chain_name      = var.chain_name
      nomad_group     = 1
    }

    count = 6

    task "jamduna-task" {
      driver = "raw_exec"

      template {
        data        = <<EOH
#!/bin/bash
set -x

# Validate required environment variables
if [ -z "$${NOMAD_META_nomad_group:-}" ] || [ -z "$${NOMAD_META_node_disk_count:-}" ]; then
  echo "Error: Required metadata variables not set" >&2
  exit 1
fi

DISK_INDEX=$(( ($NOMAD_META_nomad_group - 1) % $NOMAD_META_node_disk_count + 1))
DISK_PATH="${var.disk_root}/nvme_drive_${DISK_INDEX}"


if [ "$${NOMAD_META_node_update:-false}" = "true" ]; then
  curl -fsSL --retry 5 --retry-all-errors -o local/jamduna-bin "${NOMAD_META_jam_url}/${NOMAD_META_chain_name}/jamduna"
  chmod +x local/jamduna-bin
fi

if [ "$${NOMAD_META_node_clean:-false}" = "true" ]; then
  echo "NOT Cleaning location ${DISK_PATH}/${NOMAD_JOB_NAME}/${NOMAD_ALLOC_ID}"
  #rm -rf "${DISK_PATH}/${NOMAD_JOB_NAME}/${NOMAD_ALLOC_ID}"
fi

mkdir -p local/${NOMAD_META_chain_name}/keys
curl -fsSL --retry 5 --retry-all-errors -o spec.json "${NOMAD_META_jam_url}/${NOMAD_META_chain_name}/spec.json"

# Ensure jamduna is executable
if [ -f local/jamduna-bin ]; then
  chmod +x local/jamduna-bin
fi

# Get short hostname (without domain)
HOST=$(hostname -s)

# Extract numeric suffix (everything after last dash), subtract the offset for validator index
INDEX=$(echo "$HOST" | awk -F- '{print $NF - ${var.host_index_offset}}')

if ! [[ "$INDEX" =~ ^[0-9]+$ ]]; then
  echo "Error: Could not extract numeric index from hostname $HOST" >&2
  exit 1
fi

export INDEX
echo "Detected HOST: $HOST"
echo "Computed INDEX from hostname: $INDEX"
echo "Computed GROUP INDEX: $NOMAD_META_nomad_group"
echo "Using disk $DISK_INDEX"

# Use NVMe storage for data files
DATA_DIR="${DISK_PATH}/${NOMAD_JOB_NAME}/${NOMAD_ALLOC_ID}"
mkdir -p "$DATA_DIR/keys"
echo "Data directory: $DATA_DIR"

# Fetch key using computed index
SEED_URL="${NOMAD_META_jam_url}/${NOMAD_META_chain_name}/keys/seed_${INDEX}"
echo "Seed URL: $SEED_URL"

curl -fsSL --retry 5 --retry-all-errors -o "$DATA_DIR/keys/seed_${INDEX}" "$SEED_URL"

# Display key info
echo "=== Validator Key Info ==="
./local/jamduna-bin list-keys -d "$DATA_DIR"

# Kill any leftover jamduna processes holding the port
pkill -f "jamduna.*--dev-validator $INDEX" || true
sleep 2

# Run the process
./local/jamduna-bin \
  --chain=spec.json \
  -c local \
  -d "$DATA_DIR" \
  run \
  --pvm-backend compiler \
  --dev-validator "$INDEX"
EOH
        destination = "local/start.sh"
        perms       = "0755"
      }

      config {
        command = "local/start.sh"
      }

      env {
        RUST_BACKTRACE  = "full"
        POLKAVM_BACKEND = "compiler"
      }

      resources {
        memory = var.memory
      }

      logs {
        max_files     = 5
        max_file_size = 10
      }
    }
  }
}
