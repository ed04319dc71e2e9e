# Shared by the gvfx stand-ins: serve static answers over HTTP and stay up until stopped.

# serve PORT DIR: busybox httpd answering GET for the files under DIR, in the background.
serve() {
  httpd -f -p "$1" -h "$2" &
}

# answer DIR PATH BODY: writes BODY as the answer to GET PATH, atomically.
answer() {
  mkdir -p "$1$(dirname "$2")"
  printf '%s\n' "$3" >"$1$2.tmp" && mv "$1$2.tmp" "$1$2"
}

# forever: waits until SIGTERM or SIGINT, then stops the background servers.
forever() {
  trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM INT
  while :; do sleep 1 & wait $!; done
}
