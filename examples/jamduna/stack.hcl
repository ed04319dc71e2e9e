# JAM DUNA: six validators, one per host tagged `meta.jamduna = "true"`, from the seed
# jamduna/duna_toaster.hcl, plus what that seed assumes exists: an HTTP server holding the
# validator binary, the chain spec and the key seeds (job jamduna-chain). The validators start
# once the file server is healthy; the batch job is complete when every validator exited 0,
# which the stand-in validator does once all six see each other and agree on a first block.

stack {
  name = "jamduna"

  apply {
    timeout = "10m"
  }
}

dependency "jamduna" {
  depends_on = [job.jamduna-chain]
}

# The file server is a service: the validators wait until it is running and healthy.
dependency "jamduna-chain" {
  gate = "healthy"
}
