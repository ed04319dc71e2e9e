//! The garbage collection settings of an agent HCL file: `server { job_gc_interval,
//! job_gc_threshold, eval_gc_threshold, batch_eval_gc_threshold, deployment_gc_threshold }`
//! and `client { gc_interval, gc_max_allocs, gc_disk_usage_threshold }`, Nomad's names and
//! duration syntax (`5m`, `4h`).

use std::time::Duration;

use serde::Deserialize;

use super::AgentConfig;
use crate::cluster::http::query::parse_duration;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclGcFile {
    server: Option<HclServerGc>,
    client: Option<HclClientGc>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclServerGc {
    job_gc_interval: Option<String>,
    job_gc_threshold: Option<String>,
    eval_gc_threshold: Option<String>,
    batch_eval_gc_threshold: Option<String>,
    deployment_gc_threshold: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclClientGc {
    gc_interval: Option<String>,
    gc_max_allocs: Option<usize>,
    gc_disk_usage_threshold: Option<f64>,
}

fn duration(slot: &mut Duration, name: &str, text: Option<String>) -> Result<(), hcl::Error> {
    let Some(t) = text else { return Ok(()) };
    *slot = parse_duration(&t)
        .ok_or_else(|| <hcl::Error as serde::de::Error>::custom(format!("{name} {t:?} is not a duration")))?;
    Ok(())
}

impl AgentConfig {
    /// Overlays the garbage collection settings of agent HCL text.
    pub(super) fn merge_gc_hcl(&mut self, text: &str) -> Result<(), hcl::Error> {
        let h: HclGcFile = hcl::from_str(text)?;
        if let Some(s) = h.server {
            let gc = &mut self.server_gc;
            duration(&mut gc.interval, "job_gc_interval", s.job_gc_interval)?;
            duration(&mut gc.job_threshold, "job_gc_threshold", s.job_gc_threshold)?;
            duration(&mut gc.eval_threshold, "eval_gc_threshold", s.eval_gc_threshold)?;
            duration(
                &mut gc.batch_eval_threshold,
                "batch_eval_gc_threshold",
                s.batch_eval_gc_threshold,
            )?;
            duration(
                &mut gc.deployment_threshold,
                "deployment_gc_threshold",
                s.deployment_gc_threshold,
            )?;
        }
        if let Some(c) = h.client {
            let gc = &mut self.client_gc;
            duration(&mut gc.interval, "gc_interval", c.gc_interval)?;
            if let Some(n) = c.gc_max_allocs {
                gc.max_allocs = n;
            }
            if let Some(p) = c.gc_disk_usage_threshold {
                gc.disk_usage_threshold = p;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nomads_gc_settings() {
        let mut cfg = AgentConfig::default();
        cfg.merge_hcl_str(
            r#"
            server {
              enabled = true
              job_gc_interval = "2s"
              job_gc_threshold = "10s"
              eval_gc_threshold = "3s"
              batch_eval_gc_threshold = "4s"
              deployment_gc_threshold = "5s"
            }
            client {
              gc_interval = "1s"
              gc_max_allocs = 7
              gc_disk_usage_threshold = 90
            }
            "#,
        )
        .unwrap();
        let s = cfg.server_gc;
        assert_eq!(s.interval, Duration::from_secs(2));
        assert_eq!(s.job_threshold, Duration::from_secs(10));
        assert_eq!(s.eval_threshold, Duration::from_secs(3));
        assert_eq!(s.batch_eval_threshold, Duration::from_secs(4));
        assert_eq!(s.deployment_threshold, Duration::from_secs(5));
        assert_eq!(cfg.client_gc.interval, Duration::from_secs(1));
        assert_eq!(cfg.client_gc.max_allocs, 7);
        assert_eq!(cfg.client_gc.disk_usage_threshold, 90.0);
        assert!(
            cfg.merge_hcl_str("server { eval_gc_threshold = \"soon\" }")
                .is_err()
        );
    }
}
