//! `deploy logs`: which allocation and task of a stack job to read, and the reading itself.
//!
//! ```text
//!  ADDR ─► stack job ─► its allocations ─► latest running one (or -alloc ID / prefix)
//!                                    └──► task: -task, else the group's only task
//!  ─► GET /v1/client/fs/logs/:alloc (plain; follow) ─► lines
//! ```

use super::error::OperationError;
use crate::api::{AllocListStub, ByteStream, ClientStatus, QueryOptions};
use crate::backend::{Backend, LogRequest, NomadBackend};
use crate::stack::{JobAddress, Stack, StackJob};

/// Most bytes read back from the end of a log for `-n` (a line is rarely longer than 4 KiB).
pub const MAX_TAIL_BYTES: u64 = 4 * 1024 * 1024;

/// The job at `text` (`job.web`, `module.api.job.web`, or a bare job ID) in `stack`.
pub fn stack_job<'a>(stack: &'a Stack, text: &str) -> Result<&'a StackJob, OperationError> {
    let address = if text.contains('.') {
        JobAddress(text.to_owned())
    } else {
        JobAddress::root(text)
    };
    stack.job(&address).ok_or_else(|| {
        let known: Vec<&str> = stack.jobs.iter().map(|j| j.address.0.as_str()).collect();
        OperationError::Input(format!(
            "no job {} in the stack; its jobs are: {}",
            address.0,
            known.join(", ")
        ))
    })
}

/// The allocation to read: `wanted` (an ID or unique prefix among the job's allocations), else
/// the newest running one, else the newest of any status. The bool says whether it runs.
pub async fn pick_allocation(
    backend: &NomadBackend,
    job: &StackJob,
    wanted: Option<&str>,
) -> Result<(AllocListStub, bool), OperationError> {
    let (ns, id) = (job.job.namespace(), job.job.id());
    let (mut allocs, _) = backend.job_allocations(ns, id, QueryOptions::default()).await?;
    if let Some(w) = wanted {
        let matching: Vec<AllocListStub> = allocs.into_iter().filter(|a| a.id.starts_with(w)).collect();
        return match matching.len() {
            1 => {
                let a = matching.into_iter().next().expect("one match");
                let running = a.client_status == ClientStatus::Running;
                Ok((a, running))
            }
            0 => Err(OperationError::Input(format!(
                "job {id} has no allocation {w}; `deploy status` lists them"
            ))),
            n => Err(OperationError::Input(format!(
                "{n} allocations of job {id} start with {w}: give more of the ID"
            ))),
        };
    }
    allocs.sort_by_key(|a| std::cmp::Reverse(a.create_index));
    let running = allocs
        .iter()
        .position(|a| a.client_status == ClientStatus::Running);
    match running {
        Some(at) => Ok((allocs.swap_remove(at), true)),
        None => allocs
            .into_iter()
            .next()
            .map(|a| (a, false))
            .ok_or_else(|| OperationError::Input(format!("job {id} has no allocations yet"))),
    }
}

/// The task to read: `wanted`, else the only task of the allocation's group.
pub fn pick_task(
    job: &StackJob,
    alloc: &AllocListStub,
    wanted: Option<&str>,
) -> Result<String, OperationError> {
    let group = job
        .job
        .groups()
        .iter()
        .find(|g| g.name.as_deref() == Some(alloc.task_group.as_str()));
    let tasks: Vec<&str> = group
        .and_then(|g| g.tasks.as_deref())
        .unwrap_or(&[])
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    match (wanted, tasks.as_slice()) {
        (Some(w), _) if tasks.is_empty() || tasks.contains(&w) => Ok(w.to_owned()),
        (Some(w), _) => Err(OperationError::Input(format!(
            "group {} has no task {w}; its tasks are: {}",
            alloc.task_group,
            tasks.join(", ")
        ))),
        (None, [only]) => Ok((*only).to_owned()),
        (None, _) => Err(OperationError::Input(format!(
            "group {} has tasks {}: choose one with -task",
            alloc.task_group,
            tasks.join(", ")
        ))),
    }
}

/// Opens the log of `req`.
pub async fn open_log(backend: &NomadBackend, req: &LogRequest) -> Result<ByteStream, OperationError> {
    Ok(backend.task_log_stream(req).await?)
}

/// The last `n` lines of `text` (a final line without a newline counts).
pub fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// Splits complete lines off the front of `pending`, keeping a partial last line there.
pub fn take_lines(pending: &mut Vec<u8>) -> Vec<String> {
    let Some(end) = pending.iter().rposition(|&b| b == b'\n') else {
        return Vec::new();
    };
    let rest = pending.split_off(end + 1);
    let done = std::mem::replace(pending, rest);
    String::from_utf8_lossy(&done)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_and_partial_lines() {
        assert_eq!(last_lines("a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(last_lines("a\nb", 5), ["a", "b"]);
        let mut pending = b"one\ntwo\nthr".to_vec();
        assert_eq!(take_lines(&mut pending), ["one", "two"]);
        assert_eq!(pending, b"thr");
        assert!(take_lines(&mut pending).is_empty());
    }
}
