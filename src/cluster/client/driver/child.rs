//! What a task's process does between fork and exec, in order: new session, log FIFO read
//! ends, join its cgroups, unshare mount/UTS/IPC/PID namespaces, fork twice so a small init is
//! PID 1 of the new PID namespace and the task PID 2 (the waiters pass its exit status on),
//! mount its chroot, enter it, clear supplementary groups and switch user.
//!
//! Everything here runs in a forked copy of a multi-threaded process: only async-signal-safe
//! system calls on memory prepared before the fork, no allocation, and any failure is returned
//! (the spawn then fails with that error) rather than ignored.

use std::ffi::CString;
use std::io;

use super::chroot::ChrootPlan;

/// What the child needs, prepared before the fork.
#[derive(Debug, Clone, Default)]
pub struct ChildSetup {
    /// Log FIFOs to hold a read end of (so writes never raise SIGPIPE while the client is away).
    pub fifo_readers: Vec<CString>,
    /// `cgroup.procs` files to join.
    pub cgroup_procs: Vec<CString>,
    /// Unshare mount, UTS, IPC and PID namespaces.
    pub namespaces: bool,
    /// Enter this chroot.
    pub chroot: Option<ChrootPlan>,
    /// Switch to this uid/gid, with no supplementary groups.
    pub user: Option<(u32, u32)>,
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl ChildSetup {
    /// Runs the setup in the forked child.
    ///
    /// # Safety
    /// Call only between fork and exec (from `CommandExt::pre_exec`).
    pub unsafe fn run(&self) -> io::Result<()> {
        // SAFETY: each call below is an async-signal-safe system call on NUL-terminated paths
        // and buffers that were allocated before the fork and outlive the call.
        unsafe {
            check(libc::setsid())?;
            for fifo in &self.fifo_readers {
                libc::open(
                    fifo.as_ptr(),
                    libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW,
                );
            }
            for procs in &self.cgroup_procs {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                check(fd)?;
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return Err(io::Error::last_os_error());
                }
            }
            if self.namespaces {
                let flags = libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWPID;
                check(libc::unshare(flags))?;
                check(libc::mount(
                    c"none".as_ptr(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ))?;
                become_pid_one()?;
            }
            if let Some(plan) = &self.chroot {
                enter_chroot(plan)?;
            }
            if let Some((uid, gid)) = self.user {
                check(libc::setgroups(0, std::ptr::null()))?;
                check(libc::setgid(gid))?;
                check(libc::setuid(uid))?;
            }
        }
        Ok(())
    }
}

/// Forks after `unshare(CLONE_NEWPID)`: the child is PID 1 of the new namespace and forks
/// once more, so the task runs as PID 2 with ordinary signal handling (a PID 1 without
/// handlers would ignore the `kill_signal` sent from outside). PID 1 reaps whatever is
/// orphaned in the namespace and, when the task ends, exits the way it did; so does this
/// process, whose PID is the client's handle, so the handle reports the task's own status.
unsafe fn become_pid_one() -> io::Result<()> {
    // SAFETY: fork is async-signal-safe; `wait_and_exit` never returns.
    unsafe {
        for _ in 0..2 {
            let pid = libc::fork();
            check(pid)?;
            if pid != 0 {
                wait_and_exit(pid);
            }
        }
    }
    Ok(())
}

/// Waits for `pid` (reaping any other child on the way) and exits as it did.
unsafe fn wait_and_exit(pid: libc::pid_t) -> ! {
    // SAFETY: close_range, signal, waitpid, kill and _exit are async-signal-safe.
    unsafe {
        // The spawning side waits on a close-on-exec pipe that only exec would close: a waiter
        // never execs, so it must drop every descriptor but stdio.
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        // Signals sent to the task's process group reach the task itself; the waiters stay.
        for sig in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            libc::signal(sig, libc::SIG_IGN);
        }
        let mut status = 0;
        loop {
            let got = libc::waitpid(-1, &raw mut status, 0);
            if got == pid {
                break;
            }
            if got < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(127);
            }
        }
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            libc::signal(sig, libc::SIG_DFL);
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(libc::WEXITSTATUS(status))
    }
}

/// Makes the plan's mounts and enters the chroot.
unsafe fn enter_chroot(plan: &ChrootPlan) -> io::Result<()> {
    // SAFETY: mount, chroot and chdir on paths prepared before the fork.
    unsafe {
        for b in &plan.binds {
            check(libc::mount(
                b.source.as_ptr(),
                b.target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))?;
            if b.read_only {
                check(libc::mount(
                    std::ptr::null(),
                    b.target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID,
                    std::ptr::null(),
                ))?;
            }
        }
        check(libc::mount(
            c"proc".as_ptr(),
            plan.proc_dir.as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ))?;
        check(libc::chroot(plan.root.as_ptr()))?;
        check(libc::chdir(c"/".as_ptr()))?;
    }
    Ok(())
}
