//! What a container is made again from, for an update: its own configuration as Docker
//! inspects it, less what its old image gave it (labels, environment, command and the
//! rest the new image may change), with every volume it had attached again by name
//! (anonymous ones too: an update never starts from an empty volume) and its networks
//! with their aliases and static addresses. Pure functions of what Docker answered.

use bollard::models::{
    ContainerConfig, ContainerCreateBody, ContainerInspectResponse, EndpointSettings, HostConfig,
    ImageConfig, Mount, MountType, NetworkingConfig,
};
use std::collections::{HashMap, HashSet};

/// The new container's body, and the networks to connect it to after it is created (an
/// engine before API 1.44 takes one network at creation).
#[derive(Debug, Default)]
pub struct Recreated {
    pub body: ContainerCreateBody,
    pub later: Vec<(String, EndpointSettings)>,
}

/// `old`'s configuration for a container of `image` (the reference to run), without what
/// `old_image` (the image `old` runs) set by itself.
pub fn recreated(
    old: &ContainerInspectResponse,
    old_image: Option<&ImageConfig>,
    image: &str,
) -> Recreated {
    let config = old.config.clone().unwrap_or_default();
    let from_image = old_image.cloned().unwrap_or_default();
    let id = old.id.as_deref().unwrap_or_default();
    let short_id = &id[..id.len().min(12)];
    let mut host = old.host_config.clone().unwrap_or_default();
    attach_volumes(old, &mut host);
    let (networking, later) = networks(old, &host, short_id);
    let ContainerConfig {
        hostname,
        domainname,
        user,
        attach_stdin,
        attach_stdout,
        attach_stderr,
        exposed_ports,
        tty,
        open_stdin,
        stdin_once,
        env,
        cmd,
        healthcheck,
        args_escaped,
        volumes,
        working_dir,
        entrypoint,
        network_disabled,
        on_build,
        labels,
        stop_signal,
        stop_timeout,
        shell,
        ..
    } = config;
    // Docker refuses a hostname where the container takes another's namespace.
    let mode = host.network_mode.clone().unwrap_or_default();
    let own_uts = !(mode.starts_with("container:")
        || mode == "host"
        || host.uts_mode.as_deref() == Some("host"));
    // An entrypoint of the container's own takes the command it was given with it (Docker
    // drops the image's command when an entrypoint is set).
    let entrypoint = unless_same(entrypoint, &from_image.entrypoint);
    let cmd = match entrypoint {
        Some(_) => cmd,
        None => unless_same(cmd, &from_image.cmd),
    };
    let body = ContainerCreateBody {
        // Docker's default hostname is the id: the new container gets its own.
        hostname: hostname.filter(|h| h != short_id && own_uts),
        domainname: domainname.filter(|_| own_uts),
        user: unless_same(user, &from_image.user),
        attach_stdin,
        attach_stdout,
        attach_stderr,
        exposed_ports: unless_same(exposed_ports, &from_image.exposed_ports),
        tty,
        open_stdin,
        stdin_once,
        env: without(env, &from_image.env),
        cmd,
        healthcheck: unless_same(healthcheck, &from_image.healthcheck),
        args_escaped: unless_same(args_escaped, &from_image.args_escaped),
        image: Some(image.to_string()),
        volumes: unless_same(volumes, &from_image.volumes),
        working_dir: unless_same(working_dir, &from_image.working_dir),
        entrypoint,
        network_disabled,
        on_build: unless_same(on_build, &from_image.on_build),
        labels: labels.map(|labels| {
            let image = from_image.labels.clone().unwrap_or_default();
            labels
                .into_iter()
                .filter(|(key, value)| image.get(key) != Some(value))
                .collect()
        }),
        stop_signal: unless_same(stop_signal, &from_image.stop_signal),
        stop_timeout,
        shell: unless_same(shell, &from_image.shell),
        host_config: Some(host),
        networking_config: networking,
    };
    Recreated { body, later }
}

/// `value`, unless it is what the image gave (then the new image's applies).
fn unless_same<T: PartialEq>(value: Option<T>, image: &Option<T>) -> Option<T> {
    value.filter(|v| Some(v) != image.as_ref())
}

/// The container's environment without the image's own entries (`PATH=…`, `VERSION=…`).
fn without(env: Option<Vec<String>>, image: &Option<Vec<String>>) -> Option<Vec<String>> {
    let image: HashSet<&String> = image.iter().flatten().collect();
    env.map(|env| env.into_iter().filter(|e| !image.contains(e)).collect())
}

/// Every volume the container has mounted and its host configuration does not name (an
/// anonymous volume, one from the image's `VOLUME`): attached again by name at its place.
/// A `--mount type=volume` without a source gets the name Docker gave it.
fn attach_volumes(old: &ContainerInspectResponse, host: &mut HostConfig) {
    let by_target: HashMap<String, String> = old
        .mounts
        .iter()
        .flatten()
        .filter_map(|m| Some((m.destination.clone()?, m.name.clone()?)))
        .collect();
    for mount in host.mounts.iter_mut().flatten() {
        let anonymous = mount.source.as_deref().is_none_or(str::is_empty);
        if anonymous && mount.typ == Some(MountType::VOLUME) {
            mount.source = mount
                .target
                .as_ref()
                .and_then(|t| by_target.get(t))
                .cloned();
        }
    }
    let named: HashSet<String> = host
        .binds
        .iter()
        .flatten()
        .filter_map(|bind| bind.split(':').nth(1).map(str::to_string))
        .chain(
            host.mounts
                .iter()
                .flatten()
                .filter_map(|m| m.target.clone()),
        )
        .collect();
    let extra: Vec<Mount> = old
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| {
            let (name, target) = (m.name.clone()?, m.destination.clone()?);
            (!named.contains(&target)).then(|| Mount {
                target: Some(target),
                source: Some(name),
                typ: Some(MountType::VOLUME),
                read_only: m.rw.map(|rw| !rw),
                ..Default::default()
            })
        })
        .collect();
    if !extra.is_empty() {
        host.mounts.get_or_insert_with(Vec::new).extend(extra);
    }
}

/// The network the container is created on (its `NetworkMode`'s) and the others, each with
/// the aliases, links and static addresses it had; Docker's own alias (the short id) is
/// left for the new container to get its own.
fn networks(
    old: &ContainerInspectResponse,
    host: &HostConfig,
    short_id: &str,
) -> (Option<NetworkingConfig>, Vec<(String, EndpointSettings)>) {
    let attached: HashMap<String, EndpointSettings> = old
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.clone())
        .unwrap_or_default();
    let mode = host.network_mode.clone().unwrap_or_default();
    let mut first = None;
    let mut later = Vec::new();
    let mut names: Vec<&String> = attached.keys().collect();
    names.sort();
    for name in names {
        let endpoint = &attached[name];
        let kept = EndpointSettings {
            ipam_config: endpoint.ipam_config.clone(),
            links: endpoint.links.clone(),
            aliases: endpoint.aliases.clone().map(|aliases| {
                aliases
                    .into_iter()
                    .filter(|a| a != short_id)
                    .collect::<Vec<_>>()
            }),
            driver_opts: endpoint.driver_opts.clone(),
            ..Default::default()
        };
        let is_mode = *name == mode
            || endpoint.network_id.as_deref() == Some(mode.as_str())
            || (mode == "default" && name == "bridge");
        if is_mode {
            first = Some((name.clone(), kept));
        } else {
            later.push((name.clone(), kept));
        }
    }
    let networking = first.map(|(name, endpoint)| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(name, endpoint)])),
    });
    (networking, later)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(json: serde_json::Value) -> ContainerInspectResponse {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn what_the_image_gave_is_left_to_the_new_image() {
        let id = "0123456789abcdef0123456789abcdef";
        let old = inspect(serde_json::json!({
            "Id": id,
            "Config": {
                "Hostname": "0123456789ab",
                "Image": "app:1",
                "Env": ["PATH=/usr/bin", "VERSION=1", "MODE=prod"],
                "Cmd": ["serve"],
                "Entrypoint": ["/entry"],
                "WorkingDir": "/srv",
                "Labels": {"from.image": "1", "team": "web", "overridden": "mine"}
            },
            "HostConfig": {
                "NetworkMode": "front",
                "Binds": ["data:/data", "/etc/app:/etc/app:ro"],
                "RestartPolicy": {"Name": "unless-stopped"},
                "Memory": 1048576
            },
            "Mounts": [
                {"Type": "volume", "Name": "data", "Destination": "/data", "RW": true},
                {"Type": "volume", "Name": "f00d", "Destination": "/cache", "RW": true},
                {"Type": "bind", "Source": "/etc/app", "Destination": "/etc/app", "RW": false}
            ],
            "NetworkSettings": {"Networks": {
                "front": {"Aliases": ["web", "0123456789ab"], "IPAMConfig": {"IPv4Address": "10.9.0.5"}},
                "back": {"Aliases": ["api"]}
            }}
        }));
        let image: ImageConfig = serde_json::from_value(serde_json::json!({
            "Env": ["PATH=/usr/bin", "VERSION=1"],
            "Cmd": ["serve"],
            "Entrypoint": ["/entry"],
            "WorkingDir": "/",
            "Labels": {"from.image": "1", "overridden": "image's"}
        }))
        .unwrap();
        let Recreated { body, later } = recreated(&old, Some(&image), "app:1");
        assert_eq!(body.image.as_deref(), Some("app:1"));
        assert_eq!(body.hostname, None, "Docker's default hostname is not kept");
        assert_eq!(body.env, Some(vec!["MODE=prod".to_string()]));
        assert_eq!((body.cmd, body.entrypoint), (None, None));
        assert_eq!(body.working_dir.as_deref(), Some("/srv"), "set by the user");
        let labels = body.labels.unwrap();
        assert_eq!(labels.len(), 2);
        assert_eq!(labels["overridden"], "mine");
        let host = body.host_config.unwrap();
        assert_eq!(host.memory, Some(1_048_576));
        assert_eq!(host.binds.as_ref().unwrap().len(), 2);
        let mounts = host.mounts.unwrap();
        assert_eq!(
            mounts.len(),
            1,
            "only the anonymous volume is added: {mounts:?}"
        );
        assert_eq!(
            (mounts[0].source.as_deref(), mounts[0].target.as_deref()),
            (Some("f00d"), Some("/cache"))
        );
        let first = body.networking_config.unwrap().endpoints_config.unwrap();
        let front = &first["front"];
        assert_eq!(front.aliases, Some(vec!["web".to_string()]));
        assert_eq!(
            front.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("10.9.0.5")
        );
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].0, "back");
        assert_eq!(later[0].1.aliases, Some(vec!["api".to_string()]));
    }

    #[test]
    fn an_own_entrypoint_keeps_its_command_and_anonymous_mounts_keep_their_volume() {
        let old = inspect(serde_json::json!({
            "Id": "fedcba9876543210",
            "Config": {"Image": "app:1", "Entrypoint": ["/mine"], "Cmd": ["serve"], "Hostname": "db"},
            "HostConfig": {
                "NetworkMode": "container:other",
                "Mounts": [{"Type": "volume", "Target": "/var/lib/db"}]
            },
            "Mounts": [{"Type": "volume", "Name": "c0ffee", "Destination": "/var/lib/db", "RW": true}]
        }));
        let image: ImageConfig = serde_json::from_value(serde_json::json!({
            "Entrypoint": ["/entry"], "Cmd": ["serve"]
        }))
        .unwrap();
        let Recreated { body, later } = recreated(&old, Some(&image), "app:1");
        assert_eq!(body.entrypoint, Some(vec!["/mine".to_string()]));
        assert_eq!(body.cmd, Some(vec!["serve".to_string()]));
        assert_eq!(
            body.hostname, None,
            "another container's namespace: no hostname"
        );
        let mounts = body.host_config.unwrap().mounts.unwrap();
        assert_eq!(mounts.len(), 1, "{mounts:?}");
        assert_eq!(mounts[0].source.as_deref(), Some("c0ffee"));
        assert!(later.is_empty() && body.networking_config.is_none());
    }
}
