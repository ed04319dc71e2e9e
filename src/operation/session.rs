//! A stack session: the stack loaded, its graph built, its state locked (a journal left by a
//! killed apply recovered first), the latest revision opened, and the backend connected.
//!
//! ```text
//!  path, vars ─► load ─► graph ─► state store ─► lock ─► recover journal ─► latest revision
//!                                                                 └─► connect backend
//! ```
//!
//! Every command that reads or changes a stack's state opens one, so they all lock, recover
//! and decrypt the same way.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::connect::connect;
use super::error::OperationError;
use super::input::{VarInput, age_identity, load_stack, parse_duration};
use super::state_store::state_store;
use crate::apply::{ApplyOptions, ApplyReport, EventSink, Journal, Step, execute};
use crate::backend::NomadBackend;
use crate::graph::StackGraph;
use crate::stack::Stack;
use crate::state::{
    HeldLock, LockHolder, Revision, Sealer, StateStore, ValueRecord, VariableRecord, latest_opened,
};

/// The default per-job timeout when neither `-timeout` nor the stack sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The default number of jobs in flight when neither `-parallelism` nor the stack sets one.
pub const DEFAULT_PARALLELISM: usize = 10;

/// Says something to the user while an operation runs (recovered journals, a cluster being
/// started, front-end warnings); the CLI prints it on stderr.
pub type Notice<'a> = &'a (dyn Fn(&str) + Sync);

/// What opens a session: the stack, its inputs, and how to take the state lock.
#[derive(Clone, Debug)]
pub struct SessionRequest {
    /// The stack directory (or a stack in JSON).
    pub path: PathBuf,
    /// `-var` and `-var-file`.
    pub vars: VarInput,
    /// `-state DIR`.
    pub state: Option<PathBuf>,
    /// `-lock-timeout`, as given.
    pub lock_timeout: String,
    /// The command holding the lock (shown to whoever waits for it).
    pub command: String,
}

/// A loaded stack with its state locked, and (once connected) its backend.
pub struct StackSession {
    /// The stack.
    pub stack: Stack,
    /// Its graph.
    pub graph: StackGraph,
    /// The state directory.
    pub state_dir: PathBuf,
    /// The state store.
    pub store: StateStore,
    /// The latest revision, sensitive values opened.
    pub state: Option<Revision>,
    backend: Option<Arc<NomadBackend>>,
    _lock: Box<dyn HeldLock>,
}

impl StackSession {
    /// Loads the stack, takes the lock, recovers a leftover journal and reads the latest
    /// revision; no backend yet (see [`StackSession::connect`]).
    pub fn open(request: &SessionRequest, notice: Notice<'_>) -> Result<StackSession, OperationError> {
        let stack = load_stack(&request.path, &request.vars, notice)?;
        let graph = StackGraph::build(&stack)?;
        let store = state_store(&stack, request.state.as_deref())?;
        let dir = store.dir().to_path_buf();
        let timeout = parse_duration("-lock-timeout", &request.lock_timeout)?;
        let holder = LockHolder {
            command: request.command.clone(),
        };
        let lock = store.lock(&holder, timeout)?;
        if let Some(serial) = crate::state::recover_journal(&store)? {
            notice(&format!(
                "Recovered revision {serial} from the journal of an interrupted apply."
            ));
        }
        let state = latest_opened(&store, age_identity().as_deref())?;
        Ok(StackSession {
            stack,
            graph,
            state_dir: dir,
            store,
            state,
            backend: None,
            _lock: lock,
        })
    }

    /// [`StackSession::open`], then connects the stack's backend.
    pub async fn open_connected(
        request: &SessionRequest,
        notice: Notice<'_>,
    ) -> Result<StackSession, OperationError> {
        let mut session = StackSession::open(request, notice)?;
        session.connect(notice).await?;
        Ok(session)
    }

    /// Connects the stack's backend (starting the local cluster when the stack names none).
    pub async fn connect(&mut self, notice: Notice<'_>) -> Result<(), OperationError> {
        let backend = connect(&self.stack, &self.state_dir, notice).await?;
        self.backend = Some(Arc::new(backend));
        Ok(())
    }

    /// The connected backend.
    pub fn backend(&self) -> Result<&Arc<NomadBackend>, OperationError> {
        self.backend
            .as_ref()
            .ok_or_else(|| OperationError::Refused("the session has no backend connected".into()))
    }

    /// The timeout for jobs without their own: `-timeout`, else the stack's, else 5m.
    pub fn default_timeout(&self, flag: Option<&str>) -> Result<Duration, OperationError> {
        match flag {
            Some(s) => parse_duration("-timeout", s),
            None => Ok(self
                .stack
                .settings
                .timeout
                .map(|d| Duration::from_nanos(d.0.max(0) as u64))
                .unwrap_or(DEFAULT_TIMEOUT)),
        }
    }

    /// Jobs in flight at once: `-parallelism`, else the stack's, else 10.
    pub fn parallelism(&self, flag: Option<usize>) -> usize {
        flag.or(self.stack.settings.parallelism)
            .unwrap_or(DEFAULT_PARALLELISM)
    }

    /// Runs `steps` with a journal on top of the stored latest revision; `values` are the
    /// variables and outputs the new revision records, `lineage` the lineage of a first
    /// revision (the jobs registered carry it in their ownership meta).
    pub async fn run(
        &self,
        steps: Vec<Step>,
        options: &ApplyOptions,
        (values, nomad_variables): ((Vec<ValueRecord>, Vec<ValueRecord>), Vec<VariableRecord>),
        lineage: &str,
        sink: EventSink,
    ) -> Result<ApplyReport, OperationError> {
        let sealer = sealer(&self.stack)?;
        if steps.iter().any(|s| !s.sensitive_paths.is_empty()) && !sealer.has_recipients() {
            return Err(OperationError::Refused(
                "the stack has sensitive values but no age recipients to encrypt them to in the state: set \
                 `age_recipients` in the stack block or DEPLOY_AGE_RECIPIENTS (nothing is written in clear)"
                    .into(),
            ));
        }
        let base = self.store.latest()?;
        let mut journal = Journal::begin(&self.store, base.as_ref(), &self.stack.settings.name);
        if base.is_none() {
            journal.revision.lineage = lineage.to_string();
            journal.write_header()?;
        }
        journal.revision.variables = values.0;
        journal.revision.outputs = values.1;
        let key = |r: &VariableRecord| (r.namespace.clone(), r.path.clone(), r.modify_index);
        journal.variables_changed = base.as_ref().map_or(Vec::new(), |b| {
            b.nomad_variables.iter().map(key).collect::<Vec<_>>()
        }) != nomad_variables.iter().map(key).collect::<Vec<_>>();
        journal.revision.nomad_variables = nomad_variables;
        let backend = self.backend()?.clone();
        Ok(execute(backend, steps, options, journal, &self.store, &sealer, sink).await?)
    }
}

/// The stack's age recipients (or `DEPLOY_AGE_RECIPIENTS`).
pub fn sealer(stack: &Stack) -> Result<Sealer, OperationError> {
    Ok(Sealer::from_settings(
        &stack.settings.age_recipients,
        std::env::var("DEPLOY_AGE_RECIPIENTS").ok().as_deref(),
    )?)
}

/// The stack's variables and outputs as the revision records them (sensitive ones sealed).
pub fn stack_values(stack: &Stack) -> Result<(Vec<ValueRecord>, Vec<ValueRecord>), OperationError> {
    let sealer = sealer(stack)?;
    let record =
        |name: &str, value: &serde_json::Value, sensitive: bool| -> Result<ValueRecord, OperationError> {
            let (value, encrypted) = match (sensitive, sealer.has_recipients()) {
                (false, _) => (Some(value.clone()), None),
                (true, true) => (None, Some(sealer.seal(value.to_string().as_bytes())?)),
                (true, false) => (None, None),
            };
            Ok(ValueRecord {
                name: name.to_string(),
                sensitive,
                value,
                encrypted,
            })
        };
    let vars = stack
        .variables
        .iter()
        .map(|v| record(&v.name, &v.value, v.sensitive))
        .collect::<Result<_, _>>()?;
    let outs = stack
        .outputs
        .iter()
        .map(|o| record(&o.name, &o.value, o.sensitive))
        .collect::<Result<_, _>>()?;
    Ok((vars, outs))
}
