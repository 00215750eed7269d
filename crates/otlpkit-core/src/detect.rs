//! Resource detection: what the process can say about itself, as the
//! semantic conventions name it.
//!
//! | attribute | value |
//! |---|---|
//! | `service.instance.id` | a random UUID v4, one per process |
//! | `host.name` | the host name (`/proc/sys/kernel/hostname` on Linux) |
//! | `host.arch` | `amd64`, `arm64`, `arm32`, `x86`, `ppc32`, `ppc64`, `s390x`, or Rust's name for others |
//! | `os.type` | `linux`, `darwin`, `windows`, `freebsd`, … |
//! | `os.description` | Linux: `PRETTY_NAME` of `/etc/os-release` and the kernel release |
//! | `os.version` | Linux: the kernel release |
//! | `process.pid` | the process id (an integer) |
//! | `process.executable.name` | the executable's file name |
//! | `process.runtime.name` | `rustc` |
//! | `process.runtime.version` | the compiler's version, e.g. `1.95.0` |
//! | `process.runtime.description` | `rustc --version`, e.g. `rustc 1.95.0 (59807616e 2026-04-14)` |
//! | `container.id` | Linux: the 64-hex-digit id in `/proc/self/cgroup` (cgroup v1 and v2) or, failing that, `/proc/self/mountinfo` |
//!
//! Detection reads a few small files once per process and caches the result
//! (the process id and `service.instance.id` are checked again, so a forked
//! child gets its own); anything it cannot read is left out, nothing fails,
//! nothing panics. The compiler's version is recorded when this crate is
//! built, without running anything at run time.

use std::sync::{Mutex, OnceLock, PoisonError};

mod container;

pub(crate) use container::{container_id_from_cgroup, container_id_from_mountinfo};

use crate::parse::spec_enum;

/// `service.instance.id`.
pub const SERVICE_INSTANCE_ID: &str = "service.instance.id";
/// `service.version`.
pub const SERVICE_VERSION: &str = "service.version";
/// `host.name`.
pub const HOST_NAME: &str = "host.name";
/// `host.arch`.
pub const HOST_ARCH: &str = "host.arch";
/// `os.type`.
pub const OS_TYPE: &str = "os.type";
/// `os.description`.
pub const OS_DESCRIPTION: &str = "os.description";
/// `os.version`.
pub const OS_VERSION: &str = "os.version";
/// `process.pid`.
pub const PROCESS_PID: &str = "process.pid";
/// `process.executable.name`.
pub const PROCESS_EXECUTABLE_NAME: &str = "process.executable.name";
/// `process.runtime.name`.
pub const PROCESS_RUNTIME_NAME: &str = "process.runtime.name";
/// `process.runtime.version`.
pub const PROCESS_RUNTIME_VERSION: &str = "process.runtime.version";
/// `process.runtime.description`.
pub const PROCESS_RUNTIME_DESCRIPTION: &str = "process.runtime.description";
/// `container.id`.
pub const CONTAINER_ID: &str = "container.id";

/// `rustc --version` of the compiler that built this crate (see `build.rs`).
const RUSTC_DESCRIPTION: Option<&str> = option_env!("OTLPKIT_RUSTC_DESCRIPTION");

spec_enum! {
    /// `OTLPKIT_RESOURCE_DETECTION` values: whether the resource gets the
    /// detected host, OS, process, runtime and container attributes.
    #[derive(Default)]
    pub enum ResourceDetection ("resource detection", expected = "on | off") {
        /// Detect (the default).
        #[default]
        On = "on" | "true",
        /// Leave the detected attributes out.
        Off = "off" | "false" | "none",
    }
}

impl ResourceDetection {
    /// Whether detection runs.
    pub fn is_on(self) -> bool {
        self == ResourceDetection::On
    }
}

/// One detected attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detected {
    pub(crate) key: &'static str,
    pub(crate) value: String,
    /// The value as an integer, for attributes the conventions type as `int`.
    pub(crate) int: Option<i64>,
}

impl Detected {
    fn text(key: &'static str, value: impl Into<String>) -> Self {
        Self {
            key,
            value: value.into(),
            int: None,
        }
    }
}

/// Every detected attribute, in the order of the table above.
pub(crate) fn detect() -> Vec<Detected> {
    let pid = std::process::id();
    let mut detected = vec![Detected::text(SERVICE_INSTANCE_ID, instance_id(pid))];
    detected.extend(stable().iter().cloned());
    // In table order: before the other `process.*` attributes.
    let at = detected
        .iter()
        .position(|d| d.key.starts_with("process.") || d.key == CONTAINER_ID)
        .unwrap_or(detected.len());
    detected.insert(
        at,
        Detected {
            key: PROCESS_PID,
            value: pid.to_string(),
            int: Some(i64::from(pid)),
        },
    );
    detected
}

/// What does not change while the process runs, read once.
fn stable() -> &'static [Detected] {
    static STABLE: OnceLock<Vec<Detected>> = OnceLock::new();
    STABLE.get_or_init(|| {
        let mut detected = Vec::new();
        if let Some(name) = host_name() {
            detected.push(Detected::text(HOST_NAME, name));
        }
        detected.push(Detected::text(HOST_ARCH, host_arch(std::env::consts::ARCH)));
        detected.push(Detected::text(OS_TYPE, os_type(std::env::consts::OS)));
        if let Some(os) = linux_os() {
            detected.push(Detected::text(OS_DESCRIPTION, os.description));
            detected.push(Detected::text(OS_VERSION, os.kernel));
        }
        if let Some(name) = executable_name() {
            detected.push(Detected::text(PROCESS_EXECUTABLE_NAME, name));
        }
        if let Some(description) = RUSTC_DESCRIPTION {
            detected.push(Detected::text(PROCESS_RUNTIME_NAME, "rustc"));
            if let Some(version) = rustc_version(description) {
                detected.push(Detected::text(PROCESS_RUNTIME_VERSION, version));
            }
            detected.push(Detected::text(PROCESS_RUNTIME_DESCRIPTION, description));
        }
        if let Some(id) = container_id() {
            detected.push(Detected::text(CONTAINER_ID, id));
        }
        detected
    })
}

/// A random UUID v4, the same for the life of the process (a forked child
/// draws its own).
fn instance_id(pid: u32) -> String {
    static ID: Mutex<Option<(u32, String)>> = Mutex::new(None);
    instance_id_in(&ID, pid)
}

fn instance_id_in(slot: &Mutex<Option<(u32, String)>>, pid: u32) -> String {
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    match &*slot {
        Some((owner, id)) if *owner == pid => id.clone(),
        _ => {
            let id = uuid_v4(random_bytes());
            *slot = Some((pid, id.clone()));
            id
        }
    }
}

/// 16 bytes from the operating system's generator; should it fail, from
/// the standard library's per-process random hash keys mixed with the
/// clock, so that an id is still unlikely to repeat.
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0_u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        use std::hash::{BuildHasher as _, Hasher as _};
        let keys = std::collections::hash_map::RandomState::new();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        for (index, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut hasher = keys.build_hasher();
            hasher.write_usize(index);
            hasher.write_u128(now);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
    }
    bytes
}

/// RFC 9562 version 4: the version and variant bits set, hyphenated, lower case.
pub(crate) fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// The host name: `/proc/sys/kernel/hostname` on Linux (the same value the
/// `gethostname` call returns, without unsafe code or another crate), the
/// `gethostname` crate elsewhere.
fn host_name() -> Option<String> {
    #[cfg(target_os = "linux")]
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    #[cfg(not(target_os = "linux"))]
    let name = gethostname::gethostname().into_string().ok();
    name.map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// `host.arch` for Rust's `std::env::consts::ARCH`.
pub(crate) fn host_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm32",
        "x86" => "x86",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

/// `os.type` for Rust's `std::env::consts::OS`.
pub(crate) fn os_type(os: &str) -> &str {
    match os {
        "macos" | "ios" => "darwin",
        "dragonfly" => "dragonflybsd",
        "illumos" | "solaris" => "solaris",
        other => other,
    }
}

struct LinuxOs {
    description: String,
    kernel: String,
}

#[cfg(target_os = "linux")]
fn linux_os() -> Option<LinuxOs> {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let release = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    Some(linux_description(&release, kernel.trim()))
}

#[cfg(not(target_os = "linux"))]
fn linux_os() -> Option<LinuxOs> {
    None
}

/// `os.description` from the text of `os-release` and the kernel release:
/// `Debian GNU/Linux 12 (bookworm) (Linux 6.1.0)`, or `Linux 6.1.0` without
/// a `PRETTY_NAME`.
fn linux_description(os_release: &str, kernel: &str) -> LinuxOs {
    let pretty = os_release.lines().find_map(|line| {
        let value = line.trim().strip_prefix("PRETTY_NAME=")?;
        let value = value.trim();
        let unquoted = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!unquoted.is_empty()).then(|| unquoted.to_owned())
    });
    let description = match (pretty, kernel.is_empty()) {
        (Some(pretty), false) => format!("{pretty} (Linux {kernel})"),
        (Some(pretty), true) => pretty,
        (None, _) => format!("Linux {kernel}").trim_end().to_owned(),
    };
    LinuxOs {
        description,
        kernel: kernel.to_owned(),
    }
}

fn executable_name() -> Option<String> {
    let path = std::env::current_exe().ok()?;
    let name = path.file_name()?.to_str()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// `1.95.0` from `rustc 1.95.0 (59807616e 2026-04-14)`.
pub(crate) fn rustc_version(description: &str) -> Option<&str> {
    let mut words = description.split_whitespace();
    (words.next()? == "rustc")
        .then(|| words.next())
        .flatten()
        .filter(|version| version.starts_with(|c: char| c.is_ascii_digit()))
}

#[cfg(target_os = "linux")]
fn container_id() -> Option<String> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    read("/proc/self/cgroup")
        .and_then(|text| container_id_from_cgroup(&text))
        .or_else(|| {
            read("/proc/self/mountinfo").and_then(|text| container_id_from_mountinfo(&text))
        })
}

#[cfg(not(target_os = "linux"))]
fn container_id() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_id_is_a_uuid_v4_and_stable_for_the_process() {
        let first = instance_id(std::process::id());
        assert_eq!(first, instance_id(std::process::id()));
        assert_eq!(first.len(), 36);
        let parts: Vec<&str> = first.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{first}");
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert!(
            first
                .chars()
                .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        );

        // A forked child (another process id) draws its own.
        let slot = Mutex::new(None);
        let parent = instance_id_in(&slot, 1);
        assert_eq!(instance_id_in(&slot, 1), parent);
        assert_ne!(instance_id_in(&slot, 2), parent);
    }

    #[test]
    fn uuid_bits_and_layout() {
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn architectures_and_operating_systems_use_the_conventions_names() {
        assert_eq!(host_arch("x86_64"), "amd64");
        assert_eq!(host_arch("aarch64"), "arm64");
        assert_eq!(host_arch("arm"), "arm32");
        assert_eq!(host_arch("powerpc64"), "ppc64");
        assert_eq!(host_arch("riscv64"), "riscv64");
        assert_eq!(os_type("linux"), "linux");
        assert_eq!(os_type("macos"), "darwin");
        assert_eq!(os_type("windows"), "windows");
        assert_eq!(os_type("dragonfly"), "dragonflybsd");
    }

    #[test]
    fn os_description_from_os_release() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n";
        let os = linux_description(debian, "6.1.0-18-amd64");
        assert_eq!(
            os.description,
            "Debian GNU/Linux 12 (bookworm) (Linux 6.1.0-18-amd64)"
        );
        assert_eq!(os.kernel, "6.1.0-18-amd64");
        assert_eq!(
            linux_description("PRETTY_NAME=Alpine\n", "6.6").description,
            "Alpine (Linux 6.6)"
        );
        assert_eq!(
            linux_description("PRETTY_NAME='x y'", "").description,
            "x y"
        );
        assert_eq!(linux_description("", "6.6").description, "Linux 6.6");
        assert_eq!(
            linux_description("PRETTY_NAME=\"\"\n\u{0}garbage=", "6.6").description,
            "Linux 6.6"
        );
    }

    #[test]
    fn rustc_version_from_the_description() {
        assert_eq!(
            rustc_version("rustc 1.95.0 (59807616e 2026-04-14)"),
            Some("1.95.0")
        );
        assert_eq!(
            rustc_version("rustc 1.97.0-nightly"),
            Some("1.97.0-nightly")
        );
        assert_eq!(rustc_version("clippy-driver 0.1"), None);
        assert_eq!(rustc_version("rustc"), None);
        assert_eq!(rustc_version(""), None);
    }

    #[test]
    fn detection_describes_this_process() {
        let detected = detect();
        let get = |key: &str| {
            detected
                .iter()
                .find(|d| d.key == key)
                .map(|d| d.value.clone())
        };
        let pid = detected.iter().find(|d| d.key == PROCESS_PID).unwrap();
        assert_eq!(pid.int, Some(i64::from(std::process::id())));
        assert_eq!(pid.value, std::process::id().to_string());
        assert_eq!(
            get(HOST_ARCH).as_deref(),
            Some(host_arch(std::env::consts::ARCH))
        );
        assert_eq!(get(OS_TYPE).as_deref(), Some(os_type(std::env::consts::OS)));
        let exe = std::env::current_exe().unwrap();
        assert_eq!(
            get(PROCESS_EXECUTABLE_NAME).as_deref(),
            exe.file_name().and_then(|n| n.to_str())
        );
        // This crate's build script records the compiler that built it.
        let description = get(PROCESS_RUNTIME_DESCRIPTION).unwrap();
        assert!(description.starts_with("rustc 1."), "{description}");
        assert_eq!(get(PROCESS_RUNTIME_NAME).as_deref(), Some("rustc"));
        assert!(description.contains(&get(PROCESS_RUNTIME_VERSION).unwrap()));
        if cfg!(target_os = "linux") {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
            assert_eq!(get(HOST_NAME).as_deref(), Some(host.trim()));
            let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
            assert_eq!(get(OS_VERSION).as_deref(), Some(kernel.trim()));
            assert!(get(OS_DESCRIPTION).unwrap().contains(kernel.trim()));
        }
        // Keys are unique.
        let mut keys: Vec<&str> = detected.iter().map(|d| d.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), detected.len());
    }

    #[test]
    fn detection_setting_spellings() {
        for on in ["on", "ON", " true "] {
            assert_eq!(on.parse::<ResourceDetection>(), Ok(ResourceDetection::On));
        }
        for off in ["off", "False", "none"] {
            assert_eq!(off.parse::<ResourceDetection>(), Ok(ResourceDetection::Off));
        }
        assert!("maybe".parse::<ResourceDetection>().is_err());
        assert!(ResourceDetection::default().is_on());
    }
}
