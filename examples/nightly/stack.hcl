# Nightly housekeeping: a backup, then a report that needs the backup's job registered first,
# and a parameterized cleanup job that operators dispatch on demand.

stack {
  name = "nightly"
}

dependency "report" {
  depends_on = [job.backup]
}

dependency "cleanup" {
  depends_on = [job.report]
}
