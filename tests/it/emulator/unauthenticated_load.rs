//! Calls without credentials are refused on their headers: a flood of large unauthenticated
//! requests does not grow the `yc-iam emulator` process, and authenticated callers are served
//! meanwhile.

use tonic::Code;
use yc_iam::emulator::DEFAULT_FOLDER_ID;
use yc_iam::proto::yandex::cloud::iam::v1::{CreateServiceAccountRequest, ListServiceAccountsRequest};

use super::cli::{TOKEN, spawn, terminate};
use super::support::{Auth, clients_at};

const MIB: u64 = 1024 * 1024;
const CALLS: usize = 200;
const AT_ONCE: usize = 25;

/// A `VmRSS`/`VmHWM`-style line of `/proc/PID/status`, in bytes.
fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"));
    kib * 1024
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_unauthenticated_calls_are_refused_without_growing_the_emulator() {
    let (child, addr) = spawn(&[]);
    let pid = child.id();
    let endpoint = format!("http://{addr}");
    let mut authed = clients_at(&endpoint, Auth::bearer(TOKEN)).await;
    let list = || ListServiceAccountsRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        ..Default::default()
    };
    authed.accounts.list(list()).await.expect("warm-up call");
    let start_rss = proc_status_bytes(pid, "VmRSS:");

    let flood = async {
        let big = CreateServiceAccountRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            name: "flood".into(),
            description: "x".repeat(4 * MIB as usize - 1024),
            ..Default::default()
        };
        let mut refused = 0;
        for _ in 0..CALLS / AT_ONCE {
            let round = (0..AT_ONCE).map(|_| {
                let endpoint = endpoint.clone();
                let big = big.clone();
                async move {
                    let mut c = clients_at(&endpoint, Auth::none()).await;
                    c.accounts.create(big).await
                }
            });
            for result in futures_util::future::join_all(round).await {
                let err = result.expect_err("no credentials");
                assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
                refused += 1;
            }
        }
        refused
    };
    let served = async {
        let mut served = 0;
        for _ in 0..20 {
            authed
                .accounts
                .list(list())
                .await
                .expect("authenticated call during the flood");
            served += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        served
    };
    let (refused, served) = tokio::join!(flood, served);
    assert_eq!((refused, served), (CALLS, 20));

    let peak = proc_status_bytes(pid, "VmHWM:");
    let now = proc_status_bytes(pid, "VmRSS:");
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");
    assert!(
        peak.saturating_sub(start_rss) <= 64 * MIB && now.saturating_sub(start_rss) <= 64 * MIB,
        "RSS started at {} MiB, peaked at {} MiB, ended at {} MiB",
        start_rss / MIB,
        peak / MIB,
        now / MIB
    );
}
