#!/usr/bin/env bash
# `deploy plan -refresh=false` against `terraform plan -refresh=false` on the same DAG: N jobs
# (N terraform_data resources) whose dependencies form a binary tree (item i depends on item
# (i-1)/2), planned against an empty state (every item a create), in two layouts: one file per
# item, and one file holding every item. Each tool runs RUNS times under `/usr/bin/time`; the
# table gives the median and range of wall time and the largest max RSS.
#
#   benches/support/compare_terraform.sh [N ...]        (default: 1000 10000)
#
# Environment: DEPLOY (default target/release/deploy), DEPLOY_BEFORE (another build to compare,
# optional), TERRAFORM (default terraform on PATH), RUNS (default 3), TF_RUNS (default RUNS),
# WORK (default a fresh temporary directory, removed at the end unless KEEP=1).
# Terraform needs no registry: terraform_data comes with its built-in provider.
set -euo pipefail
cd "$(dirname "$0")/../.."

DEPLOY="${DEPLOY:-$PWD/target/release/deploy}"
TERRAFORM="${TERRAFORM:-$(command -v terraform || true)}"
RUNS="${RUNS:-3}"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 10000)

for tool in "$DEPLOY" "$TERRAFORM" /usr/bin/time ${DEPLOY_BEFORE:+"$DEPLOY_BEFORE"}; do
  if [ -z "$tool" ] || [ ! -x "$tool" ]; then
    echo "missing ${tool:-terraform}: build with cargo build --release, install terraform and GNU time" >&2
    exit 1
  fi
done

WORK="${WORK:-$(mktemp -d)}"
mkdir -p "$WORK"
if [ "${KEEP:-0}" != 1 ]; then
  trap 'rm -rf "$WORK"' EXIT
fi
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_CLI_CONFIG_FILE=/dev/null NO_COLOR=1

# One small service job per item: one group, one docker task, a service with a check.
job_awk='
function job(i,   id) {
  id = sprintf("svc-%06d", i)
  return "job \"" id "\" {\n" \
    "  datacenters = [\"dc1\"]\n" \
    "  type        = \"service\"\n" \
    "  meta {\n    index = \"" i "\"\n  }\n" \
    "  group \"app\" {\n" \
    "    count = 2\n" \
    "    network {\n      port \"http\" {\n        to = 8080\n      }\n    }\n" \
    "    task \"server\" {\n" \
    "      driver = \"docker\"\n" \
    "      config {\n        image = \"registry.local/app:" i % 7 "\"\n        ports = [\"http\"]\n      }\n" \
    "      env {\n        ALLOC = \"${NOMAD_ALLOC_ID}\"\n        NAME  = \"" id "\"\n      }\n" \
    "      resources {\n        cpu    = 100\n        memory = 128\n      }\n" \
    "      service {\n        name = \"" id "\"\n        port = \"http\"\n" \
    "        check {\n          type     = \"http\"\n          path     = \"/health\"\n" \
    "          interval = \"10s\"\n          timeout  = \"2s\"\n        }\n      }\n" \
    "    }\n  }\n}\n"
}
function dep(i) {
  return "dependency \"" sprintf("svc-%06d", i) "\" {\n  depends_on = [job." \
    sprintf("svc-%06d", int((i - 1) / 2)) "]\n}\n"
}
# The same content as a terraform_data input, and the same edge as depends_on.
function res(i,   id) {
  id = sprintf("svc-%06d", i)
  s = "resource \"terraform_data\" \"" sprintf("svc_%06d", i) "\" {\n" \
    "  input = {\n" \
    "    id          = \"" id "\"\n" \
    "    datacenters = [\"dc1\"]\n" \
    "    type        = \"service\"\n" \
    "    meta        = { index = \"" i "\" }\n" \
    "    group = {\n" \
    "      name    = \"app\"\n" \
    "      count   = 2\n" \
    "      network = { port = { http = { to = 8080 } } }\n" \
    "      task = {\n" \
    "        name      = \"server\"\n" \
    "        driver    = \"docker\"\n" \
    "        config    = { image = \"registry.local/app:" i % 7 "\", ports = [\"http\"] }\n" \
    "        env       = { ALLOC = \"$${NOMAD_ALLOC_ID}\", NAME = \"" id "\" }\n" \
    "        resources = { cpu = 100, memory = 128 }\n" \
    "        service = {\n" \
    "          name  = \"" id "\"\n" \
    "          port  = \"http\"\n" \
    "          check = { type = \"http\", path = \"/health\", interval = \"10s\", timeout = \"2s\" }\n" \
    "        }\n" \
    "      }\n" \
    "    }\n" \
    "  }\n"
  if (i > 0) s = s "  depends_on = [terraform_data." sprintf("svc_%06d", int((i - 1) / 2)) "]\n"
  return s "}\n"
}
'

generate() {
  local n="$1" d="$2"
  mkdir -p "$d/deploy-files" "$d/deploy-one" "$d/tf-files" "$d/tf-one"
  awk -v n="$n" -v d="$d" "$job_awk"'
    BEGIN {
      print "stack {\n  name = \"bench\"\n}\n" > (d "/deploy-files/stack.hcl")
      print "stack {\n  name = \"bench\"\n}\n" > (d "/deploy-one/stack.hcl")
      for (i = 0; i < n; i++) {
        f = d "/deploy-files/" sprintf("svc-%06d", i) ".nomad.hcl"
        printf "%s", job(i) > f
        close(f)
        printf "%s", job(i) > (d "/deploy-one/jobs.nomad.hcl")
        if (i > 0) {
          printf "%s", dep(i) > (d "/deploy-files/stack.hcl")
          printf "%s", dep(i) > (d "/deploy-one/stack.hcl")
        }
        f = d "/tf-files/" sprintf("svc_%06d", i) ".tf"
        printf "%s", res(i) > f
        close(f)
        printf "%s", res(i) > (d "/tf-one/main.tf")
      }
    }'
  for t in tf-files tf-one; do
    (cd "$d/$t" && "$TERRAFORM" init -input=false -no-color >/dev/null)
  done
}

# Runs a command RUNS times; prints "median_wall min_wall max_wall max_rss_kb".
measure() {
  local out="$WORK/time.txt" walls=() rss=0 i w m
  for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null 2>"$WORK/stderr.txt" || {
      echo "failed: $*" >&2
      cat "$WORK/stderr.txt" >&2
      exit 1
    }
    read -r w m <"$out"
    walls+=("$w")
    [ "$m" -gt "$rss" ] && rss="$m"
  done
  mapfile -t walls < <(printf '%s\n' "${walls[@]}" | sort -g)
  echo "${walls[$((RUNS / 2))]} ${walls[0]} ${walls[$((RUNS - 1))]} $rss"
}

TF_RUNS="${TF_RUNS:-$RUNS}"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(uptime | sed 's/.*load/load/')"
echo "# $("$TERRAFORM" version | head -1); deploy: $DEPLOY${DEPLOY_BEFORE:+, before: $DEPLOY_BEFORE}"
echo "# $RUNS runs each ($TF_RUNS of terraform); empty state (every item a create); wall: median (min-max)"
echo
echo "| jobs | layout | tool | wall (s) | max RSS | terraform's wall / this | RSS / terraform's |"
echo "|---:|---|---|---|---:|---:|---:|"
for n in "${SIZES[@]}"; do
  d="$WORK/n$n"
  generate "$n" "$d"
  for layout in files one; do
    name=$([ $layout = files ] && echo "file per job" || echo "one file")
    read -r tw tlo thi trss < <(cd "$d/tf-$layout" && RUNS=$TF_RUNS &&
      measure "$TERRAFORM" plan -refresh=false -input=false -lock=false -no-color)
    printf '| %s | %s | terraform | %s (%s-%s) | %d MB | 1 | 1 |\n' "$n" "$name" "$tw" "$tlo" "$thi" $((trss / 1024))
    for tool in ${DEPLOY_BEFORE:+before} deploy; do
      bin=$([ $tool = before ] && echo "$DEPLOY_BEFORE" || echo "$DEPLOY")
      rm -rf "$d/state"
      read -r dw dlo dhi drss < <(measure "$bin" plan -refresh=false -state "$d/state" "$d/deploy-$layout")
      printf '| %s | %s | %s | %s (%s-%s) | %d MB | %.0fx | %.2f |\n' "$n" "$name" \
        "$([ $tool = before ] && echo "deploy (before)" || echo deploy)" "$dw" "$dlo" "$dhi" $((drss / 1024)) \
        "$(echo "$tw / ($dw + 0.001)" | bc -l)" "$(echo "$drss / $trss" | bc -l)"
    done
  done
done
