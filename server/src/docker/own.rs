//! Whether Berth itself runs in a container, and which: a container Berth runs in is never
//! stopped, removed or recreated by Berth.

/// The id of the container Berth runs in, if it runs in one: Docker mounts the container's
/// own `/etc/hostname` from `/var/lib/docker/containers/{id}/`, which `/proc/self/mountinfo`
/// shows. Read once.
pub fn container() -> Option<&'static str> {
    static OWN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    OWN.get_or_init(|| {
        std::fs::read_to_string("/proc/self/mountinfo")
            .ok()
            .and_then(|m| container_in_mountinfo(&m))
    })
    .as_deref()
}

fn container_in_mountinfo(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        let (_, after) = line.split_once("/containers/")?;
        let id = after.split('/').next()?;
        let is_id = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
        (is_id && line.contains("/hostname")).then(|| id.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::container_in_mountinfo;

    #[test]
    fn berths_own_container_is_found_in_mountinfo() {
        let id = "4f1c".repeat(16);
        let inside = format!(
            "36 35 0:32 / / rw - overlay overlay rw\n\
             612 600 254:1 /var/lib/docker/containers/{id}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw\n"
        );
        assert_eq!(container_in_mountinfo(&inside), Some(id));
        let outside =
            "36 35 0:32 / / rw - ext4 /dev/vda rw\n22 1 0:5 / /dev rw - devtmpfs udev rw\n";
        assert_eq!(container_in_mountinfo(outside), None);
    }
}
