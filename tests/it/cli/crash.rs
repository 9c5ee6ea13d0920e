//! A `provision` killed with SIGKILL at a random moment, then run again, ends in the state of an
//! uninterrupted run: one service account, the binding, exactly one live key, in the file.

use std::time::{Duration, Instant};

use super::{FOLDER, Harness};

/// How long operations take, so that kill moments land inside every step.
const OP_DELAY: Duration = Duration::from_millis(150);
const KILLS: usize = 50;
const WORKERS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_killed_at_fifty_random_moments_recovers_every_time() {
    let h = Harness::with(yc_iam::emulator::Emulator::builder().with_op_delay(OP_DELAY)).await;
    // How long a whole run takes here, to spread the kill moments over it.
    let start = Instant::now();
    h.provision("sa-calibrate", "calibrate.yaml", &[]).await.success();
    let full = start.elapsed();
    let rotate_start = Instant::now();
    h.provision("sa-calibrate", "calibrate.yaml", &["--rotate"]).await.success();
    let full_rotate = rotate_start.elapsed();

    let h = std::sync::Arc::new(h);
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let plans: Vec<(usize, bool, Duration)> = (0..KILLS)
        .map(|i| {
            // Every third case kills a rotation of an already provisioned account.
            let rotate = i % 3 == 2;
            let span = if rotate { full_rotate } else { full };
            (i, rotate, span.mul_f64(rng.f64()))
        })
        .collect();
    let mut tasks = Vec::new();
    for chunk in plans.chunks(KILLS.div_ceil(WORKERS)) {
        let chunk = chunk.to_vec();
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            for (i, rotate, at) in chunk {
                let name = format!("sa-crash-{i}");
                let file = format!("crash-{i}.yaml");
                if rotate {
                    h.provision(&name, &file, &[]).await.success();
                }
                let extra: &[&str] = if rotate { &["--rotate"] } else { &[] };
                kill_at(&h, &name, &file, extra, at).await;
                let again = h.provision(&name, &file, &[]).await;
                assert_eq!(again.code, Some(0), "rerun after a kill at {at:?} (case {i}): {}", again.stderr);
                h.assert_provisioned(&name, &file).await;
                // No temporary file with a secret is left beside the key file.
                let leftovers: Vec<_> = std::fs::read_dir(h.dir.path())
                    .unwrap()
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.starts_with(&format!(".{file}.tmp")))
                    .collect();
                assert!(leftovers.is_empty(), "{leftovers:?}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Starts `provision` and kills it with SIGKILL after `at` (if it is still running).
async fn kill_at(h: &Harness, name: &str, file: &str, extra: &[&str], at: Duration) {
    let mut cmd = h.command();
    cmd.args(["provision", "--folder-id", FOLDER, "--name", name, "--output", file]).args(extra);
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("binary starts");
    tokio::time::sleep(at).await;
    // `kill` sends SIGKILL on Unix; it fails only if the process already exited.
    let _ = child.kill();
    tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
}
