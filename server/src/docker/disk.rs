//! An engine's disk usage from `GET /system/df`: images, containers, volumes and build cache,
//! each with its size and what a prune would give back, and each volume's size and
//! reference count. Read as plain JSON because its shape changed with API 1.52 (totals per
//! kind) and Berth speaks to engines on either side of that.

use super::engine::Engine;
use crate::{docker::raw_logs::LogsApi, error::Error};
use app::resources::{DiskShare, EngineDisk};
use serde_json::Value;
use std::collections::HashMap;

/// The largest answer read: a list of every image, container and volume.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// A volume's size and how many containers refer to it (`-1` from Docker: not known).
#[derive(Clone, Debug, Default)]
pub struct VolumeUsage {
    pub size: Option<i64>,
    pub ref_count: Option<i64>,
}

async fn df(engine: &Engine, raw: &LogsApi) -> Result<Value, Error> {
    engine.client()?;
    raw.get_json("system/df", MAX_ANSWER)
        .await
        .map_err(|e| engine.logs_error(e))
}

fn int(value: &Value, key: &str) -> i64 {
    value[key].as_i64().unwrap_or_default()
}

fn items<'a>(df: &'a Value, old: &str, new: &str) -> Vec<&'a Value> {
    match df[old].as_array() {
        Some(list) => list.iter().collect(),
        None => df[new]["Items"]
            .as_array()
            .map(|list| list.iter().collect())
            .unwrap_or_default(),
    }
}

fn known(n: i64) -> Option<i64> {
    (n >= 0).then_some(n)
}

/// Each volume's usage, by name.
pub async fn volume_usage(
    engine: &Engine,
    raw: &LogsApi,
) -> Result<HashMap<String, VolumeUsage>, Error> {
    let df = df(engine, raw).await?;
    Ok(volumes_of(&df))
}

fn volumes_of(df: &Value) -> HashMap<String, VolumeUsage> {
    items(df, "Volumes", "VolumeUsage")
        .into_iter()
        .filter_map(|v| {
            let name = v["Name"].as_str()?.to_string();
            let usage = &v["UsageData"];
            Some((
                name,
                VolumeUsage {
                    size: usage["Size"].as_i64().and_then(known),
                    ref_count: usage["RefCount"].as_i64().and_then(known),
                },
            ))
        })
        .collect()
}

pub async fn usage(engine: &Engine, raw: &LogsApi) -> Result<EngineDisk, Error> {
    Ok(usage_of(&df(engine, raw).await?))
}

/// The totals as `docker system df` computes them; an engine that gives its own totals
/// (API 1.52 and later) is taken at its word.
fn usage_of(df: &Value) -> EngineDisk {
    let given = |kind: &str| {
        let totals = &df[kind];
        totals.get("TotalCount").map(|_| DiskShare {
            count: int(totals, "TotalCount").max(0) as u64,
            active: int(totals, "ActiveCount").max(0) as u64,
            size: int(totals, "TotalSize").max(0) as u64,
            reclaimable: int(totals, "Reclaimable").max(0) as u64,
        })
    };
    let images = given("ImageUsage").unwrap_or_else(|| {
        let list = items(df, "Images", "ImageUsage");
        let total = int(df, "LayersSize").max(0);
        let used: i64 = list
            .iter()
            .filter(|i| int(i, "Containers") > 0)
            .map(|i| int(i, "Size") - int(i, "SharedSize").max(0))
            .sum();
        DiskShare {
            count: list.len() as u64,
            active: list.iter().filter(|i| int(i, "Containers") > 0).count() as u64,
            size: total as u64,
            reclaimable: (total - used).max(0) as u64,
        }
    });
    let containers = given("ContainerUsage").unwrap_or_else(|| {
        let list = items(df, "Containers", "ContainerUsage");
        let running = |c: &&&Value| c["State"] == "running";
        DiskShare {
            count: list.len() as u64,
            active: list.iter().filter(running).count() as u64,
            size: list.iter().map(|c| int(c, "SizeRw").max(0)).sum::<i64>() as u64,
            reclaimable: list
                .iter()
                .filter(|c| !running(c))
                .map(|c| int(c, "SizeRw").max(0))
                .sum::<i64>() as u64,
        }
    });
    let volumes = given("VolumeUsage").unwrap_or_else(|| {
        let list = volumes_of(df);
        let size = |u: &VolumeUsage| u.size.unwrap_or_default();
        DiskShare {
            count: list.len() as u64,
            active: list
                .values()
                .filter(|u| u.ref_count.unwrap_or(0) > 0)
                .count() as u64,
            size: list.values().map(size).sum::<i64>() as u64,
            reclaimable: list
                .values()
                .filter(|u| u.ref_count.unwrap_or(0) == 0)
                .map(size)
                .sum::<i64>() as u64,
        }
    });
    let build_cache = given("BuildCacheUsage").unwrap_or_else(|| {
        let list = items(df, "BuildCache", "BuildCacheUsage");
        let unshared: Vec<_> = list.iter().filter(|b| b["Shared"] != true).collect();
        DiskShare {
            count: list.len() as u64,
            active: list.iter().filter(|b| b["InUse"] == true).count() as u64,
            size: unshared.iter().map(|b| int(b, "Size").max(0)).sum::<i64>() as u64,
            reclaimable: unshared
                .iter()
                .filter(|b| b["InUse"] != true)
                .map(|b| int(b, "Size").max(0))
                .sum::<i64>() as u64,
        }
    });
    EngineDisk {
        images,
        containers,
        volumes,
        build_cache,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_shapes_of_the_answer() {
        let old = json!({
            "LayersSize": 1000,
            "Images": [
                {"Id": "a", "Size": 600, "SharedSize": 100, "Containers": 1},
                {"Id": "b", "Size": 400, "SharedSize": 0, "Containers": 0}
            ],
            "Containers": [
                {"Id": "c1", "State": "running", "SizeRw": 10},
                {"Id": "c2", "State": "exited", "SizeRw": 5}
            ],
            "Volumes": [
                {"Name": "v1", "UsageData": {"Size": 70, "RefCount": 1}},
                {"Name": "v2", "UsageData": {"Size": 30, "RefCount": 0}},
                {"Name": "v3", "UsageData": {"Size": -1, "RefCount": -1}}
            ],
            "BuildCache": null
        });
        let usage = usage_of(&old);
        assert_eq!(
            usage.images,
            DiskShare {
                count: 2,
                active: 1,
                size: 1000,
                reclaimable: 500
            }
        );
        assert_eq!(
            usage.containers,
            DiskShare {
                count: 2,
                active: 1,
                size: 15,
                reclaimable: 5
            }
        );
        assert_eq!(
            usage.volumes,
            DiskShare {
                count: 3,
                active: 1,
                size: 100,
                reclaimable: 30
            }
        );
        assert_eq!(usage.build_cache, DiskShare::default());
        assert_eq!(volumes_of(&old)["v3"].size, None);

        let new = json!({
            "ImageUsage": {"ActiveCount": 1, "TotalCount": 2, "Reclaimable": 5, "TotalSize": 9, "Items": []},
            "VolumeUsage": {"ActiveCount": 0, "TotalCount": 1, "Reclaimable": 3, "TotalSize": 3,
                "Items": [{"Name": "v", "UsageData": {"Size": 3, "RefCount": 0}}]}
        });
        let usage = usage_of(&new);
        assert_eq!(
            usage.images,
            DiskShare {
                count: 2,
                active: 1,
                size: 9,
                reclaimable: 5
            }
        );
        assert_eq!(usage.volumes.reclaimable, 3);
        assert_eq!(volumes_of(&new)["v"].ref_count, Some(0));
    }
}
