//! Periodic launches: when a periodic job's next child is due, in the job's time zone.
//! Whether to skip a launch while a child still runs (`prohibit_overlap`) is the caller's
//! decision: it knows the children.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::spec::{Job, cron};

/// The first launch strictly after `after`, over every cron spec of the job; `None` when the
/// job is not periodic, disabled, or its specs or time zone do not parse.
pub fn next_launch(job: &Job, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let periodic = job.periodic.as_ref()?;
    if !job.is_periodic() {
        return None;
    }
    let tz = match periodic.time_zone.as_deref().map(str::trim) {
        None | Some("") | Some("UTC") => Tz::UTC,
        Some(name) => Tz::from_str(name).ok()?,
    };
    let local = after.with_timezone(&tz);
    periodic
        .spec
        .iter()
        .filter(|s| !s.trim().is_empty())
        .chain(periodic.specs.iter().flatten())
        .filter_map(|spec| cron::parse(spec).ok())
        .filter_map(|schedule| schedule.after(&local).next())
        .map(|t| t.with_timezone(&Utc))
        .min()
}

/// The ID of the child launched at `at`: `<parent>/periodic-<unix seconds>`.
pub fn child_id(job: &Job, at: DateTime<Utc>) -> String {
    format!("{}/periodic-{}", job.id(), at.timestamp())
}

/// The child launched at `at`: a copy of the parent without its `periodic` block, named by
/// [`child_id`], with `ParentID` set (Nomad's derived job).
pub fn periodic_child(parent: &Job, at: DateTime<Utc>) -> Job {
    let mut child = parent.clone();
    child.id = Some(child_id(parent, at));
    child.name = child.id.clone();
    child.parent_id = Some(parent.id().to_string());
    child.periodic = None;
    child.status = None;
    child.status_description = None;
    child.stable = Some(false);
    child.stop = Some(false);
    child.version = None;
    child.create_index = None;
    child.modify_index = None;
    child.job_modify_index = None;
    child.submit_time = None;
    child
}

/// The launch that is due at `now`, if any: the first launch after the last one (or after
/// the job's submission when it never launched). A launch missed while no leader ran is made
/// once, late, as Nomad does; the ones before it are not replayed.
pub fn due_launch(
    job: &Job,
    last_launch: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let since = last_launch.or_else(|| job.submit_time.map(DateTime::from_timestamp_nanos))?;
    next_launch(job, since).filter(|t| *t <= now)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::spec::PeriodicConfig;

    fn periodic(spec: &str, tz: Option<&str>) -> Job {
        Job {
            id: Some("report".into()),
            periodic: Some(PeriodicConfig {
                spec: Some(spec.into()),
                time_zone: tz.map(String::from),
                ..PeriodicConfig::default()
            }),
            ..Job::default()
        }
    }

    #[test]
    fn next_launch_in_utc_and_in_a_time_zone() {
        let after = Utc.with_ymd_and_hms(2026, 1, 15, 10, 30, 0).unwrap();
        let utc = next_launch(&periodic("0 3 * * *", None), after).unwrap();
        assert_eq!(utc, Utc.with_ymd_and_hms(2026, 1, 16, 3, 0, 0).unwrap());
        // 03:00 in New York in January is 08:00 UTC.
        let ny = next_launch(&periodic("0 3 * * *", Some("America/New_York")), after).unwrap();
        assert_eq!(ny, Utc.with_ymd_and_hms(2026, 1, 16, 8, 0, 0).unwrap());
        let every15 = next_launch(&periodic("*/15 * * * *", None), after).unwrap();
        assert_eq!(every15, Utc.with_ymd_and_hms(2026, 1, 15, 10, 45, 0).unwrap());
        assert_eq!(
            child_id(&periodic("@daily", None), every15),
            format!("report/periodic-{}", every15.timestamp())
        );
    }

    #[test]
    fn a_launch_is_due_once_after_the_last_one_and_the_child_is_derived() {
        let submitted = Utc.with_ymd_and_hms(2026, 1, 15, 10, 31, 0).unwrap();
        let mut job = periodic("*/15 * * * *", None);
        job.submit_time = submitted.timestamp_nanos_opt();
        let at_1044 = Utc.with_ymd_and_hms(2026, 1, 15, 10, 44, 59).unwrap();
        assert_eq!(due_launch(&job, None, at_1044), None);
        let at_1045 = Utc.with_ymd_and_hms(2026, 1, 15, 10, 45, 0).unwrap();
        assert_eq!(due_launch(&job, None, at_1045), Some(at_1045));
        // Launched at 10:45: nothing more until 11:00, even if checked much later only once.
        assert_eq!(due_launch(&job, Some(at_1045), at_1045), None);
        let late = Utc.with_ymd_and_hms(2026, 1, 15, 12, 7, 0).unwrap();
        let eleven = Utc.with_ymd_and_hms(2026, 1, 15, 11, 0, 0).unwrap();
        assert_eq!(due_launch(&job, Some(at_1045), late), Some(eleven));

        let child = periodic_child(&job, eleven);
        assert_eq!(child.id(), format!("report/periodic-{}", eleven.timestamp()));
        assert_eq!(child.parent_id.as_deref(), Some("report"));
        assert!(child.periodic.is_none());
        assert!(!child.is_periodic());
        // A job never submitted has nothing to count from.
        assert_eq!(due_launch(&periodic("* * * * *", None), None, late), None);
    }

    #[test]
    fn disabled_unknown_zone_or_not_periodic_gives_none() {
        let after = Utc.with_ymd_and_hms(2026, 1, 15, 10, 30, 0).unwrap();
        let mut off = periodic("0 3 * * *", None);
        off.periodic.as_mut().unwrap().enabled = Some(false);
        assert_eq!(next_launch(&off, after), None);
        assert_eq!(
            next_launch(&periodic("0 3 * * *", Some("Mars/Olympus")), after),
            None
        );
        assert_eq!(next_launch(&Job::default(), after), None);
    }
}
