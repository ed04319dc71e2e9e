# tv-goldviewfx: the runbook's deploy order (seed gvfx/README.md) as dependencies. The job
# files beside this one are the seed's; optional/ holds the jobs the runbook leaves out of its
# order (the Nomad-hosted frontend and the Binance jobs) and is not loaded.
#
#   phase 1  gvfx-postgres, gvfx-objectstore, gvfx-convex        (healthy)
#   phase 2  gvfx-rl-service, gvfx-api                           (healthy)
#   phase 3  gvfx-worker-egress-check                            (complete: exit 0)
#            gvfx-worker                                         (healthy, one allocation)
#            gvfx-bingx-full-backfill                            (registered: periodic)
#
# Rollback and destroy walk the edges backwards: the backfill and the worker stop first, then
# the apps, then the data plane, as the runbook's rollback section asks.

stack {
  name = "gvfx"

  apply {
    timeout = "15m"
  }
}

# Phase 1: the data plane. Each is a service; dependents wait until it is healthy.
dependency "gvfx-postgres" {
  gate = "healthy"
}

dependency "gvfx-objectstore" {
  gate = "healthy"
}

# Convex keeps its state in PostgreSQL and its blobs in the object store.
dependency "gvfx-convex" {
  depends_on = [job.gvfx-postgres, job.gvfx-objectstore]
  gate       = "healthy"
}

# Phase 2: the stateless apps, once the whole data plane is healthy.
dependency "gvfx-rl-service" {
  depends_on = [job.gvfx-postgres, job.gvfx-objectstore, job.gvfx-convex]
  gate       = "healthy"
}

dependency "gvfx-api" {
  depends_on = [job.gvfx-postgres, job.gvfx-objectstore, job.gvfx-convex, job.gvfx-rl-service]
  gate       = "healthy"
}

# Phase 3: the egress preflight must exit 0 before the worker starts.
dependency "gvfx-worker-egress-check" {
  depends_on = [job.gvfx-api, job.gvfx-rl-service]
  gate       = "complete"
  timeout    = "5m"
}

dependency "gvfx-worker" {
  depends_on = [job.gvfx-worker-egress-check]
  gate       = "healthy"
}

dependency "gvfx-bingx-full-backfill" {
  depends_on = [job.gvfx-worker]
}
