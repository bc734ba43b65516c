//! One container's stats stream (`docker stats`), as stats frames computed as the Docker CLI does.

use crate::live::hub::Publisher;
use app::frames::{ContainerStats, Frame};
use bollard::{Docker, models::ContainerStatsResponse, query_parameters::StatsOptions};
use futures::StreamExt;

pub async fn run(
    docker: Docker,
    id: String,
    publisher: Publisher,
    last: std::sync::Arc<super::last_known::LastContainerStats>,
) -> crate::live::hub::Ending {
    let options = StatsOptions {
        stream: true,
        one_shot: false,
    };
    // A full id from the engine; checked as any value in a Docker path is.
    let Ok(path) = crate::docker::path::path(crate::docker::path::Kind::Container, &id) else {
        return crate::live::hub::Ending::done(format!("not a container id: {id:?}"));
    };
    let mut stream = docker.stats(&path, Some(options));
    while let Some(Ok(sample)) = stream.next().await {
        // A stopped container keeps streaming empty samples; its end is its state.
        if is_empty(&sample) {
            break;
        }
        let stats = compute(&sample);
        last.record(&id, &stats);
        publisher.publish(Frame::ContainerStats(stats));
    }
    super::container_end_reason(&docker, &id).await
}

/// CPU % as `docker stats` shows it: the container's CPU time over the machine's, between
/// two readings, times the online CPUs (100 is one core busy); 0 when nothing was measured.
pub fn cpu_percent(cpu_delta: f64, system_delta: f64, online_cpus: u32) -> f64 {
    if cpu_delta > 0.0 && system_delta > 0.0 {
        cpu_delta / system_delta * f64::from(online_cpus) * 100.0
    } else {
        0.0
    }
}

/// Memory used without the page cache's inactive files, as Docker's CLI subtracts them.
pub fn memory_used(usage: u64, inactive_file: Option<u64>) -> u64 {
    inactive_file
        .filter(|&c| c < usage)
        .map_or(usage, |c| usage - c)
}

/// Whether a sample is the empty one Docker gives for a container that is not running.
pub fn is_empty(sample: &ContainerStatsResponse) -> bool {
    sample
        .pids_stats
        .as_ref()
        .and_then(|p| p.current)
        .unwrap_or(0)
        == 0
        && sample
            .cpu_stats
            .as_ref()
            .and_then(|c| c.system_cpu_usage)
            .is_none()
}

/// CPU % by Docker's formula; memory used without the page cache.
pub fn compute(s: &ContainerStatsResponse) -> ContainerStats {
    let cpu = s.cpu_stats.clone().unwrap_or_default();
    let pre = s.precpu_stats.clone().unwrap_or_default();
    let total = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
    let system_delta = cpu
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
    let online_cpus = cpu.online_cpus.filter(|&n| n > 0).unwrap_or_else(|| {
        cpu.cpu_usage
            .as_ref()
            .and_then(|u| u.percpu_usage.as_ref())
            .map_or(1, |p| p.len().max(1) as u32)
    });
    let cpu_percent = cpu_percent(cpu_delta, system_delta, online_cpus);

    let memory = s.memory_stats.clone().unwrap_or_default();
    let usage = memory.usage.unwrap_or(0);
    let cache = memory.stats.as_ref().and_then(|st| {
        // cgroup v1 reports total_inactive_file, v2 inactive_file.
        st.get("total_inactive_file")
            .or_else(|| st.get("inactive_file"))
            .copied()
    });
    let memory_used = memory_used(usage, cache);

    let (net_rx, net_tx) = s
        .networks
        .iter()
        .flatten()
        .fold((0, 0), |(rx, tx), (_, n)| {
            (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
        });
    let (block_read, block_write) = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
        .into_iter()
        .flatten()
        .fold((0, 0), |(r, w), e| {
            match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("read") => (r + e.value.unwrap_or(0), w),
                Some("write") => (r, w + e.value.unwrap_or(0)),
                _ => (r, w),
            }
        });

    ContainerStats {
        read: s.read.clone().unwrap_or_default(),
        cpu_percent,
        online_cpus,
        memory_used,
        memory_limit: memory.limit.unwrap_or(0),
        net_rx,
        net_tx,
        block_read,
        block_write,
        pids: s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0),
    }
}
