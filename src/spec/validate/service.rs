//! Service checks: provider and each health check's type, target and timing.

use super::Checker;
use crate::spec::service::Service;

/// Checks service `index` of a group or task.
pub(super) fn check_service(c: &mut Checker, index: usize, s: &Service) {
    c.scoped(
        format!("service {:?}", s.name),
        format!("Services[{index}]"),
        |c| {
            if !matches!(s.provider.as_str(), "" | "consul" | "nomad") {
                c.push(
                    Some("Provider"),
                    format!("provider must be consul or nomad, not {:?}", s.provider),
                );
            }
            for (i, check) in s.checks.iter().flatten().enumerate() {
                c.scoped(format!("check {:?}", check.name), format!("Checks[{i}]"), |c| {
                    if !matches!(check.r#type.as_str(), "http" | "tcp" | "script" | "grpc") {
                        c.push(
                            Some("Type"),
                            format!(
                                "check type must be http, tcp, script or grpc, not {:?}",
                                check.r#type
                            ),
                        );
                    }
                    if check.r#type == "script" && check.command.is_empty() {
                        c.push(Some("Command"), "a script check needs a command");
                    }
                    if check.r#type == "http" && check.path.is_empty() {
                        c.push(Some("Path"), "an http check needs a path");
                    }
                    if check.interval.0 <= 0 {
                        c.push(Some("Interval"), "check interval must be positive");
                    }
                    if check.timeout.0 <= 0 {
                        c.push(Some("Timeout"), "check timeout must be positive");
                    }
                });
            }
        },
    );
}
