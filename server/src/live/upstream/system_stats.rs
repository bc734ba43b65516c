//! The host sampler: CPU (total and per core), memory, swap, load, disks, network, uptime.
//! sysinfo reads /proc synchronously, so every refresh runs on the blocking pool, never on a
//! tokio worker or in a request. It exists only while a hub owns it; its last sample outlives
//! it in [`LastValues`], so pages rendered before their socket opens show known values.

use super::last_known::LastValues;
use crate::error::Error;
use crate::live::hub::{Ending, Publisher};
use app::frames::{DiskUsage, Frame, NetworkUsage, SystemStats};
use std::time::Duration;
use sysinfo::{Disks, Networks, System};

struct Sampler {
    system: System,
    disks: Disks,
    networks: Networks,
}

impl Sampler {
    fn new() -> Result<Self, sysinfo::Error> {
        let mut system = System::new()?;
        system.refresh_cpu_usage();
        Ok(Self {
            system,
            disks: Disks::new_with_refreshed_list()?,
            networks: Networks::new_with_refreshed_list()?,
        })
    }

    fn sample(&mut self) -> SystemStats {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.networks.refresh(true);
        let load = System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen]);
        let mut networks: Vec<NetworkUsage> = self
            .networks
            .iter()
            .map(|(name, n)| NetworkUsage {
                interface: name.to_string_lossy().into_owned(),
                rx: n.received(),
                tx: n.transmitted(),
                rx_total: n.total_received(),
                tx_total: n.total_transmitted(),
            })
            .collect();
        networks.sort_by(|a, b| a.interface.cmp(&b.interface));
        // A device mounted twice (bind mounts, overlays) is listed twice: count it once.
        let mut devices = std::collections::BTreeMap::new();
        for disk in self.disks.iter() {
            let usage = disk.usage();
            devices.insert(disk.name(), (usage.read_bytes, usage.written_bytes));
        }
        let (disk_read, disk_written) = devices
            .values()
            .fold((0, 0), |(r, w), (dr, dw)| (r + dr, w + dw));
        SystemStats {
            cpu_percent: self.system.global_cpu_usage(),
            cpu_per_core: self.system.cpus().iter().map(|c| c.usage()).collect(),
            memory_used: self.system.used_memory(),
            memory_total: self.system.total_memory(),
            swap_used: self.system.used_swap(),
            swap_total: self.system.total_swap(),
            load,
            disks: self
                .disks
                .iter()
                .map(|d| DiskUsage {
                    mount: d.mount_point().display().to_string(),
                    total: d.total_space(),
                    available: d.available_space(),
                })
                .collect(),
            disk_read,
            disk_written,
            networks,
            uptime_secs: System::uptime().unwrap_or(0),
        }
    }
}

/// The host's last sample if recent, else a one-off one (about 200 ms: CPU usage needs two
/// readings), taken on the blocking pool and recorded for the next page. Concurrent misses
/// share the one sample in flight.
pub async fn last_or_sample(last: &LastValues) -> Result<SystemStats, Error> {
    if let Some(stats) = last.host.get(HOST) {
        return Ok(stats);
    }
    let _sampling = last.host_sampling.lock().await;
    // Whoever held the lock before us may have just recorded one.
    if let Some(stats) = last.host.get(HOST) {
        return Ok(stats);
    }
    last.host_samples
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let stats = tokio::task::spawn_blocking(|| {
        let mut sampler = Sampler::new()?;
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        Ok::<_, sysinfo::Error>(sampler.sample())
    })
    .await
    .map_err(|e| Error::new(500, format!("host sampler failed: {e}")))?
    .map_err(|e| Error::unavailable(format!("host statistics unavailable: {e}")))?;
    last.host.record(HOST, &stats);
    Ok(stats)
}

const HOST: &str = "host";

pub async fn run(
    interval: Duration,
    publisher: Publisher,
    last: std::sync::Arc<LastValues>,
) -> Ending {
    let mut sampler = match tokio::task::spawn_blocking(Sampler::new).await {
        Ok(Ok(sampler)) => sampler,
        Ok(Err(e)) => return Ending::done(format!("host statistics unavailable: {e}")),
        Err(e) => return Ending::retry(format!("host sampler failed: {e}")),
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        let sampled = tokio::task::spawn_blocking(move || {
            let stats = sampler.sample();
            (sampler, stats)
        })
        .await;
        match sampled {
            Ok((back, stats)) => {
                sampler = back;
                last.host.record(HOST, &stats);
                publisher.publish(Frame::SystemStats(stats));
            }
            Err(e) => return Ending::retry(format!("host sampler failed: {e}")),
        }
    }
}
