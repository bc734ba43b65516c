//! A container's CPU and memory read from its cgroup files, for the sampler where Berth runs
//! on the engine's host: about 25 times cheaper than the engine's stats API (BENCHMARKS.md,
//! figure 13). Docker's layouts: cgroup v1 (`/sys/fs/cgroup/{cpuacct,memory,pids}/docker/ID`,
//! or `…/system.slice/docker-ID.scope` with the systemd driver) and v2
//! (`/sys/fs/cgroup/docker/ID`, `/sys/fs/cgroup/system.slice/docker-ID.scope`). A container
//! found in none (a remote engine, Berth in its own container's cgroup namespace) is read
//! through the API. Network and block figures are not in these files: they are left at 0.

use super::container_stats::memory_used;
use std::path::{Path, PathBuf};

/// The machine at a round's moment: read once per round, not per container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    /// Its CPU time, in ns, as Docker counts it (`system_cpu_usage`).
    pub system_ns: u64,
    pub online_cpus: u32,
    /// Its memory, in bytes: an unlimited container's limit.
    pub memory: u64,
}

/// What the files say of one container, and of the machine at the same moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// CPU time the container used, in ns.
    pub cpu_ns: u64,
    /// The machine's CPU time, in ns, as Docker counts it (`system_cpu_usage`).
    pub system_ns: u64,
    pub online_cpus: u32,
    /// Memory used without the page cache's inactive files, as `docker stats` shows it.
    pub memory_used: u64,
    /// Its limit, or the machine's memory when it has none.
    pub memory_limit: u64,
    pub pids: u64,
}

/// Where a host's cgroup files are (`/sys/fs/cgroup`; a test's folder).
#[derive(Clone, Debug)]
pub struct Cgroups {
    root: PathBuf,
    proc: PathBuf,
}

impl Default for Cgroups {
    fn default() -> Self {
        Self::at("/sys/fs/cgroup", "/proc")
    }
}

impl Cgroups {
    pub fn at(root: impl Into<PathBuf>, proc: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            proc: proc.into(),
        }
    }

    /// The container's reading, or None when its files are not here. `id` is a full id
    /// from the engine's list (64 hex digits: nothing else becomes a path).
    pub fn read(&self, id: &str, machine: &Machine) -> Option<Reading> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v1 = |controller: &str| {
            [
                format!("{controller}/docker/{id}"),
                format!("{controller}/system.slice/docker-{id}.scope"),
            ]
            .into_iter()
            .map(|p| self.root.join(p))
            .find(|p| p.is_dir())
        };
        let (cpu_ns, used, limit, pids) = if let Some(cpu) = v1("cpuacct") {
            let memory = v1("memory")?;
            let usage = number(&memory.join("memory.usage_in_bytes"))?;
            let inactive = stat(&memory.join("memory.stat"), "total_inactive_file");
            let pids = v1("pids").and_then(|p| number(&p.join("pids.current")));
            (
                number(&cpu.join("cpuacct.usage"))?,
                memory_used(usage, inactive),
                number(&memory.join("memory.limit_in_bytes")),
                pids,
            )
        } else {
            let dir = [
                format!("docker/{id}"),
                format!("system.slice/docker-{id}.scope"),
            ]
            .into_iter()
            .map(|p| self.root.join(p))
            .find(|p| p.is_dir())?;
            let usage = number(&dir.join("memory.current"))?;
            let inactive = stat(&dir.join("memory.stat"), "inactive_file");
            (
                stat(&dir.join("cpu.stat"), "usage_usec")?.saturating_mul(1000),
                memory_used(usage, inactive),
                // `max` (no limit) is not a number: the machine's.
                number(&dir.join("memory.max")),
                number(&dir.join("pids.current")),
            )
        };
        Some(Reading {
            cpu_ns,
            system_ns: machine.system_ns,
            online_cpus: machine.online_cpus,
            memory_used: used,
            memory_limit: limit.map_or(machine.memory, |l| l.min(machine.memory)),
            pids: pids.unwrap_or(0),
        })
    }

    /// The machine's CPU time in ns (`/proc/stat`'s first line, as Docker sums it), its
    /// online CPUs, and its memory; None where there is no `/proc`.
    pub fn machine(&self) -> Option<Machine> {
        let stat = std::fs::read_to_string(self.proc.join("stat")).ok()?;
        let ticks: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("cpu "))?
            .split_whitespace()
            // user, nice, system, idle, iowait, irq, softirq: what Docker sums.
            .take(7)
            .filter_map(|f| f.parse::<u64>().ok())
            .sum();
        let cpus = stat
            .lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count() as u32;
        let memory = std::fs::read_to_string(self.proc.join("meminfo")).ok()?;
        let kib: u64 = memory
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        // In u128: ticks × 10⁹ leaves u64 on a big machine after some weeks.
        let system_ns = u128::from(ticks) * 1_000_000_000 / u128::from(clock_ticks());
        Some(Machine {
            system_ns: system_ns as u64,
            online_cpus: cpus.max(1),
            memory: kib.saturating_mul(1024),
        })
    }
}

/// A file holding one number.
fn number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The value of `key` in a file of `key value` lines.
fn stat(path: &Path, key: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn machine(dir: &Path) {
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        std::fs::write(
            dir.join("proc/stat"),
            "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\ncpu1 50 0 50 400 0 0 0 0 0 0\nintr 1\n",
        )
        .unwrap();
        std::fs::write(dir.join("proc/meminfo"), "MemTotal:       1024 kB\n").unwrap();
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("berth-cgroup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn v1_files_read_as_docker_stats_shows_them() {
        let dir = folder("v1");
        machine(&dir);
        write(
            &dir,
            &format!("root/cpuacct/docker/{ID}/cpuacct.usage"),
            "5000\n",
        );
        let memory = format!("root/memory/docker/{ID}");
        write(&dir, &format!("{memory}/memory.usage_in_bytes"), "4096\n");
        write(
            &dir,
            &format!("{memory}/memory.stat"),
            "cache 9\ntotal_inactive_file 1024\n",
        );
        write(
            &dir,
            &format!("{memory}/memory.limit_in_bytes"),
            "9223372036854771712\n",
        );
        write(&dir, &format!("root/pids/docker/{ID}/pids.current"), "3\n");
        let cgroups = Cgroups::at(dir.join("root"), dir.join("proc"));
        let machine = cgroups.machine().unwrap();
        let reading = cgroups.read(ID, &machine).unwrap();
        assert_eq!(reading.cpu_ns, 5000);
        assert_eq!(reading.system_ns, 1000 * 1_000_000_000 / clock_ticks());
        assert_eq!(reading.online_cpus, 2);
        assert_eq!(reading.memory_used, 3072);
        assert_eq!(reading.memory_limit, 1024 * 1024, "no limit: the machine's");
        assert_eq!(reading.pids, 3);
        assert_eq!(
            cgroups.read(&ID.replace('0', "1"), &machine),
            None,
            "not here: the API's"
        );
        assert_eq!(cgroups.read("../../etc", &machine), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_long_running_big_machine_keeps_counting() {
        let dir = folder("big");
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        // 64 cores up for 40 days at 100 Hz: past u64 once times 10⁹.
        let ticks = 64u64 * 40 * 86_400 * 100;
        let stat = format!("cpu  {ticks} 0 0 0 0 0 0 0\ncpu0 1\n");
        std::fs::write(dir.join("proc/stat"), stat).unwrap();
        std::fs::write(dir.join("proc/meminfo"), "MemTotal:       1024 kB\n").unwrap();
        let machine = Cgroups::at(dir.join("root"), dir.join("proc"))
            .machine()
            .unwrap();
        let expected = u128::from(ticks) * 1_000_000_000 / u128::from(clock_ticks());
        assert_eq!(u128::from(machine.system_ns), expected);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn v2_files_read_with_the_systemd_layout() {
        let dir = folder("v2");
        machine(&dir);
        let scope = format!("root/system.slice/docker-{ID}.scope");
        write(
            &dir,
            &format!("{scope}/cpu.stat"),
            "usage_usec 7\nuser_usec 5\n",
        );
        write(&dir, &format!("{scope}/memory.current"), "2048\n");
        write(
            &dir,
            &format!("{scope}/memory.stat"),
            "anon 1\ninactive_file 48\n",
        );
        write(&dir, &format!("{scope}/memory.max"), "512\n");
        write(&dir, &format!("{scope}/pids.current"), "1\n");
        let cgroups = Cgroups::at(dir.join("root"), dir.join("proc"));
        let reading = cgroups.read(ID, &cgroups.machine().unwrap()).unwrap();
        assert_eq!(reading.cpu_ns, 7000);
        assert_eq!(reading.memory_used, 2000);
        assert_eq!(reading.memory_limit, 512);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
