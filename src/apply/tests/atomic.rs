//! `-atomic`: this apply's changes undone newest first, and no new revision.

use super::*;

#[tokio::test(start_paused = true)]
async fn atomic_undoes_this_applys_changes_newest_first() {
    let h = harness();
    let v1 = stack(
        vec![job("db", "service", 1), job("api", "service", 1)],
        &[("api", "db")],
    );
    assert!(apply(&h, &v1, ApplyOptions::default()).await.0.success);
    // v2: db and api change, web is new (after api), preflight (new, after web) fails.
    let v2 = stack(
        vec![
            with_env(job("db", "service", 1), "2"),
            with_env(job("api", "service", 1), "2"),
            job("web", "service", 1),
            job("preflight", "batch", 1),
        ],
        &[("api", "db"), ("web", "api"), ("preflight", "web")],
    );
    h.backend
        .behave("preflight", Behavior::Exit(Duration::from_secs(1), 1));
    let (report, events) = apply(
        &h,
        &v2,
        ApplyOptions {
            parallelism: 10,
            atomic: true,
            ..ApplyOptions::default()
        },
    )
    .await;
    assert!(!report.success);
    let order: Vec<&str> = report.rolled_back.iter().map(|(a, _)| a.job_id()).collect();
    assert_eq!(order, ["preflight", "web", "api", "db"]);
    assert!(
        report.rolled_back[2].1.starts_with("reverted to version 0"),
        "{:?}",
        report.rolled_back
    );
    assert!(events.iter().any(|e| matches!(e, Event::RolledBack { .. })));
    // The backend runs v1 again and the state is still revision 1.
    assert_eq!(
        h.backend.live_spec("api"),
        Some(crate::spec::canonicalize(&job("api", "service", 1)))
    );
    assert_eq!(h.backend.live_version("web"), None);
    assert_eq!(h.backend.live_version("preflight"), None);
    assert_eq!(report.revision, None);
    assert_eq!(h.store.serials().unwrap(), vec![1]);
    assert!(!h.store.dir().join(JOURNAL_FILE).exists());
}
