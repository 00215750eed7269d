//! The container id, from `/proc/self/cgroup` or `/proc/self/mountinfo`.
//!
//! Docker, containerd, CRI-O and Podman name a container by 64 lowercase hex
//! digits, and that id shows in the process's cgroup path (cgroup v1, and
//! cgroup v2 without a cgroup namespace) as a path segment of its own
//! (`/docker/<id>`, `/kubepods/…/<id>`) or inside one
//! (`docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`,
//! `libpod-<id>.scope`, `…slice:cri-containerd:<id>`). Under cgroup v2 with
//! a namespace the path is only `/`; then the mount of `/etc/hostname`
//! gives it away (`…/containers/<id>/hostname`,
//! `…/overlay-containers/<id>/userdata/hostname`). A Kubernetes pod's
//! sandbox id, which containerd's `/etc/hostname` mount shows instead, is
//! not the container's and is not taken.

/// Whether `text` is a container id: exactly 64 lowercase hex digits.
fn is_container_id(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The container id in the text of `/proc/self/cgroup`
/// (`hierarchy-id:controllers:path` per line), if any line shows one.
pub(crate) fn container_id_from_cgroup(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_hierarchy, _controllers) = (fields.next()?, fields.next()?);
        let path = fields.next()?;
        path.trim().rsplit('/').find_map(id_in_segment)
    })
}

/// The id in one cgroup path segment: `<id>`, `<runtime>-<id>.scope`,
/// `<slice>:<runtime>:<id>`.
fn id_in_segment(segment: &str) -> Option<String> {
    let segment = segment.strip_suffix(".scope").unwrap_or(segment);
    let candidate = segment.rsplit(['-', ':']).next()?;
    is_container_id(candidate).then(|| candidate.to_owned())
}

/// The container id in the text of `/proc/self/mountinfo`: the root of the
/// mount at `/etc/hostname`, when it lies in a container runtime's
/// `containers/<id>` or `overlay-containers/<id>` directory.
pub(crate) fn container_id_from_mountinfo(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        // `mount-id parent-id major:minor root mount-point options …`
        let mut fields = line.split_ascii_whitespace().skip(3);
        let (root, mount_point) = (fields.next()?, fields.next()?);
        if mount_point != "/etc/hostname" {
            return None;
        }
        let segments: Vec<&str> = root.split('/').collect();
        segments.windows(2).rev().find_map(|pair| {
            (matches!(pair[0], "containers" | "overlay-containers") && is_container_id(pair[1]))
                .then(|| pair[1].to_owned())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "7be92808767a667f35c8505cbf40d14e931ef6db5b0210329cf193b15ba9d605";
    const OTHER: &str = "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970";

    fn cgroup(text: &str) -> Option<String> {
        container_id_from_cgroup(&text.replace("{ID}", ID))
    }

    #[test]
    fn cgroup_v1_docker_cgroupfs() {
        let text = "12:pids:/docker/{ID}\n11:hugetlb:/docker/{ID}\n\
                    2:cpu,cpuacct:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/system.slice/containerd.service\n";
        assert_eq!(cgroup(text).as_deref(), Some(ID));
    }

    #[test]
    fn cgroup_v1_docker_systemd_driver() {
        let text = "10:devices:/system.slice/docker-{ID}.scope\n\
                    2:cpuacct,cpu:/system.slice/docker-{ID}.scope\n";
        assert_eq!(cgroup(text).as_deref(), Some(ID));
    }

    #[test]
    fn cgroup_v1_kubernetes() {
        // cgroupfs driver
        let text = "11:memory:/kubepods/burstable/pod9c2c6a8d-3f5d-4a1e-9f0e-0b4f2c1e7d11/{ID}\n";
        assert_eq!(cgroup(text).as_deref(), Some(ID));
        // systemd driver with containerd
        let text = "1:name=systemd:/kubepods.slice/kubepods-burstable.slice/\
                    kubepods-burstable-pod9c2c6a8d_3f5d_4a1e_9f0e_0b4f2c1e7d11.slice/cri-containerd-{ID}.scope\n";
        assert_eq!(cgroup(text).as_deref(), Some(ID));
        // Amazon ECS on EC2
        let text = "9:perf_event:/ecs/bbc36dd0-5ee0-4007-ba96-c590e0b278d2/{ID}\n";
        assert_eq!(cgroup(text).as_deref(), Some(ID));
    }

    #[test]
    fn cgroup_v2_paths() {
        for text in [
            "0::/system.slice/docker-{ID}.scope\n",
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b.slice/crio-{ID}.scope\n",
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container\n",
            "0::/system.slice/containerd.service/kubepods-burstable-pod1a2b.slice:cri-containerd:{ID}\n",
            "0::/docker/{ID}/init.scope\n",
        ] {
            assert_eq!(cgroup(text).as_deref(), Some(ID), "{text}");
        }
        // Docker in Docker: the innermost container.
        let nested = format!("0::/docker/{OTHER}/docker/{ID}\n");
        assert_eq!(container_id_from_cgroup(&nested).as_deref(), Some(ID));
    }

    #[test]
    fn no_container_in_the_cgroup() {
        for text in [
            // cgroup v2 inside a cgroup namespace: only `/`.
            "0::/\n",
            // A desktop session and a system service.
            "0::/user.slice/user-1000.slice/session-2.scope\n",
            "0::/system.slice/containerd.service\n",
            // A sandbox that names its cgroups with a shorter hex id.
            "9:name=systemd:/\n4:memory:/process_api/b92460b22d0a057155cdb334f6de8737\n0::/\n",
            // Upper case, one digit short, one too long, not hex.
            &format!("0::/docker/{}\n", ID.to_uppercase()),
            &format!("0::/docker/{}\n", &ID[1..]),
            &format!("0::/docker/{ID}0\n"),
            &format!("0::/docker/{}\n", ID.replace('a', "g")),
        ] {
            assert_eq!(container_id_from_cgroup(text), None, "{text}");
        }
    }

    const DOCKER_MOUNTINFO: &str = "\
1183 1161 0:59 / / rw,relatime master:465 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X,upperdir=/var/lib/docker/overlay2/4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970/diff
1184 1183 0:62 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1190 1183 254:1 /var/lib/docker/containers/{ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw
1191 1183 254:1 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw
1192 1183 254:1 /var/lib/docker/containers/{ID}/hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw
";

    #[test]
    fn mountinfo_of_docker_and_podman() {
        let docker = DOCKER_MOUNTINFO.replace("{ID}", ID);
        assert_eq!(container_id_from_mountinfo(&docker).as_deref(), Some(ID));
        // Docker's data root on a file system of its own.
        let own_fs = format!(
            "700 690 0:44 /containers/{ID}/hostname /etc/hostname rw,relatime - btrfs /dev/sdb rw\n"
        );
        assert_eq!(container_id_from_mountinfo(&own_fs).as_deref(), Some(ID));
        let podman = format!(
            "1020 1000 0:88 /containers/storage/overlay-containers/{ID}/userdata/hostname \
             /etc/hostname rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=3276800k,mode=700\n"
        );
        assert_eq!(container_id_from_mountinfo(&podman).as_deref(), Some(ID));
    }

    #[test]
    fn no_container_in_the_mountinfo() {
        // A Kubernetes pod's sandbox (containerd): not the container's id.
        let sandbox = format!(
            "1500 1490 259:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/{ID}/hostname \
             /etc/hostname rw,nosuid,nodev,relatime - ext4 /dev/nvme0n1p1 rw\n"
        );
        // Another container's files mounted elsewhere (an agent reading them).
        let elsewhere = format!(
            "1600 1590 254:1 /var/lib/docker/containers/{ID}/hostname /host/hostname ro - ext4 /dev/vda1 rw\n"
        );
        // This machine: no container.
        let host = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
                    27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n\
                    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        for text in [
            sandbox.as_str(),
            elsewhere.as_str(),
            host,
            "",
            "\n\n",
            "1 2 3",
        ] {
            assert_eq!(container_id_from_mountinfo(text), None, "{text}");
        }
    }

    #[test]
    fn garbage_finds_nothing() {
        for text in [
            "",
            ":",
            "::",
            ":::::::",
            "\u{0}\u{ffff}",
            "0::",
            "not a cgroup file at all",
            "0::/docker/-.scope",
            "0::/docker/.scope",
            "0::/-",
        ] {
            assert_eq!(container_id_from_cgroup(text), None, "{text:?}");
            assert_eq!(container_id_from_mountinfo(text), None, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn any_text_is_parsed_without_panicking(text in "\\PC{0,200}", lines in prop::collection::vec("[0-9a-f:/ .-]{0,90}", 0..6)) {
            let _ = container_id_from_cgroup(&text);
            let _ = container_id_from_mountinfo(&text);
            let joined = lines.join("\n");
            if let Some(id) = container_id_from_cgroup(&joined) {
                prop_assert!(is_container_id(&id));
            }
            if let Some(id) = container_id_from_mountinfo(&joined) {
                prop_assert!(is_container_id(&id));
            }
        }
    }
}
