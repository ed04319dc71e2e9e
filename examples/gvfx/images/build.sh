#!/bin/sh
# Builds the local images the gvfx stack runs on a machine with no registry, each FROM scratch:
#   gvfx-postgres:local     a real PostgreSQL server from Debian's `postgresql` package
#   gvfx-backend:local      busybox + psql stand-ins for the API, worker, backfill and egress guard
#   gvfx-backend-broken:local  a broken backend build: its `bun` exits 3 at once (what `-atomic` undoes)
#   gvfx-rl-service:local   a stand-in RL service answering /health
#   gvfx-objectstore:local  a stand-in object store (minio) and its `mc` client
#   gvfx-convex:local       a stand-in Convex backend answering /version
#   gvfx-tailscale:local    a stand-in tailscaled that fails without NET_ADMIN, NET_RAW and /dev/net/tun
# Needs docker, gcc (static libc), /bin/busybox (busybox-static) and the postgresql package (apt-get install
# busybox-static postgresql). Usage: images/build.sh [TAG]   (TAG defaults to `local`).
set -eu
export DOCKER_BUILDKIT=0 # the classic builder: FROM scratch needs nothing else

tag="${1:-local}"
here="$(cd "$(dirname "$0")" && pwd)"
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x /bin/busybox ] || { echo "build.sh: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }
[ -n "$pgbin" ] && [ -x "$pgbin/postgres" ] || { echo "build.sh: no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }
pgver="$(basename "$(dirname "$pgbin")")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# base DIR: busybox with every applet, /etc/passwd with the postgres (999) and app (1000) users, /tmp.
base() {
  mkdir -p "$1/bin" "$1/etc" "$1/tmp" "$1/usr/local/bin" "$1/alloc" "$1/local" "$1/secrets"
  chmod 1777 "$1/tmp"
  cp /bin/busybox "$1/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$1/bin/$applet" ] || ln -s busybox "$1/bin/$applet"
  done
  printf 'root:x:0:0:root:/:/bin/sh\npostgres:x:999:999:postgres:/var/lib/postgresql:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n' >"$1/etc/passwd"
  printf 'root:x:0:\npostgres:x:999:\napp:x:1000:\n' >"$1/etc/group"
  cp "$here/bin/lib.sh" "$1/usr/local/bin/gvfx-lib.sh"
}

# with_libs DIR FILE...: copies each file and the shared libraries `ldd` names, at the same paths.
with_libs() {
  dir="$1"; shift
  for f in "$@"; do
    mkdir -p "$dir$(dirname "$f")"
    cp -L "$f" "$dir$f"
    ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/lib/{print $1}' | while read -r lib; do
      [ -e "$dir$lib" ] && continue
      mkdir -p "$dir$(dirname "$lib")"
      cp -L "$lib" "$dir$lib"
    done
  done
}

# with_psql DIR: the psql client and its libraries, on PATH as /usr/local/bin/psql.
with_psql() {
  with_libs "$1" "$pgbin/psql"
  ln -sf "$pgbin/psql" "$1/usr/local/bin/psql"
}

# image NAME DIR ENTRYPOINT-JSON: docker build of DIR as NAME:TAG.
image() {
  printf 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/bin\nENTRYPOINT %s\n' "$3" >"$2/Dockerfile"
  docker build -q -t "$1:$tag" "$2" >/dev/null 2>"$work/build.err" || { cat "$work/build.err" >&2; exit 1; }
  echo "built $1:$tag"
}

# PostgreSQL: the server binaries, their share and lib files, the libraries they link, zoneinfo.
pg="$work/postgres"
base "$pg/rootfs"
with_libs "$pg/rootfs" "$pgbin/postgres" "$pgbin/initdb" "$pgbin/pg_ctl" "$pgbin/psql" "$pgbin/pg_isready"
for so in /usr/lib/postgresql/"$pgver"/lib/*.so; do with_libs "$pg/rootfs" "$so"; done
mkdir -p "$pg/rootfs/usr/share/postgresql" "$pg/rootfs/usr/share" "$pg/rootfs/var/run/postgresql"
cp -r /usr/share/postgresql/"$pgver" "$pg/rootfs/usr/share/postgresql/"
cp -r /usr/share/zoneinfo "$pg/rootfs/usr/share/"
for b in postgres initdb pg_ctl psql pg_isready; do ln -sf "$pgbin/$b" "$pg/rootfs/usr/local/bin/$b"; done
gcc -static -O2 -o "$pg/rootfs/usr/local/bin/runas" "$here/bin/runas.c"
cp "$here/bin/postgres-entrypoint.sh" "$pg/rootfs/usr/local/bin/docker-entrypoint.sh"
image gvfx-postgres "$pg" '["/usr/local/bin/docker-entrypoint.sh"]'

# The backend (API, worker, backfill, egress guard): `bun` and the guard script are stand-ins.
be="$work/backend"
base "$be/rootfs"
with_psql "$be/rootfs"
mkdir -p "$be/rootfs/app/backend" "$be/rootfs/app/scripts/tailscale"
cp "$here/bin/bun" "$be/rootfs/usr/local/bin/bun"
cp "$here/bin/worker-egress-guard.sh" "$be/rootfs/app/scripts/tailscale/worker-egress-guard.sh"
image gvfx-backend "$be" '[]'

# A broken build of the backend: the same entry points, each exiting 3 before it serves.
bb="$work/backend-broken"
base "$bb/rootfs"
mkdir -p "$bb/rootfs/app/backend"
printf '#!/bin/sh\necho "bun: this build is broken (exit 3)" >&2\nexit 3\n' >"$bb/rootfs/usr/local/bin/bun"
chmod 755 "$bb/rootfs/usr/local/bin/bun"
image gvfx-backend-broken "$bb" '[]'

# The RL service: the uvicorn the job starts is a stand-in serving /health.
rl="$work/rl"
base "$rl/rootfs"
mkdir -p "$rl/rootfs/app/backend/rl-service/.venv/bin"
cp "$here/bin/uvicorn" "$rl/rootfs/app/backend/rl-service/.venv/bin/uvicorn"
image gvfx-rl-service "$rl" '[]'

# The object store (`minio server …`) and its client (`mc`), one image for both image variables.
os="$work/objectstore"
base "$os/rootfs"
cp "$here/bin/minio" "$os/rootfs/usr/local/bin/minio"
cp "$here/bin/mc" "$os/rootfs/usr/local/bin/mc"
image gvfx-objectstore "$os" '["/usr/local/bin/minio"]'

# Convex: the backend answers /version on its port and the site proxy port.
cx="$work/convex"
base "$cx/rootfs"
cp "$here/bin/convex" "$cx/rootfs/usr/local/bin/convex"
image gvfx-convex "$cx" '["/usr/local/bin/convex"]'

# tailscaled: refuses to start without the capabilities and the tun device the jobs grant it.
ts="$work/tailscale"
base "$ts/rootfs"
cp "$here/bin/tailscaled" "$ts/rootfs/usr/local/bin/tailscaled"
image gvfx-tailscale "$ts" '[]'
