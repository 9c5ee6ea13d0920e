//! The IAM-token cache: one exchange for many waiting calls, refresh ahead of expiry, and a failed
//! refresh that does not fail calls while the old token is valid.

use std::time::Duration;

use yc_iam::{
    Client, Credentials,
    emulator::{Emulator, Fault},
};

use super::{FOLDER, TOKEN_CREATE, calls, start};
use crate::common::client_with;

const OAUTH: &str = "y0_token-cache-test";

async fn setup() -> (Emulator, Client) {
    let emu = start(Emulator::builder().with_oauth_token(OAUTH)).await;
    let client = client_with(&emu, Credentials::oauth_token(OAUTH));
    (emu, client)
}

#[tokio::test]
async fn hundred_concurrent_calls_on_a_cold_cache_make_one_exchange() {
    let (emu, client) = setup().await;
    let calls_made = futures_util::future::join_all((0..100).map(|_| {
        let client = client.clone();
        async move { client.folders().get(FOLDER).await }
    }))
    .await;
    assert!(calls_made.iter().all(Result::is_ok));
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn token_is_refreshed_before_it_expires() {
    let (emu, client) = setup().await;
    client.folders().get(FOLDER).await.expect("first call");
    tokio::time::advance(Duration::from_secs(30 * 60)).await;
    client.folders().get(FOLDER).await.expect("call at 30 min");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 1, "a young token is reused");
    // One hour of age: refreshed although the token lives 12 h.
    tokio::time::advance(Duration::from_secs(31 * 60)).await;
    client.folders().get(FOLDER).await.expect("call after an hour");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 2, "an hour-old token is refreshed");
}

#[tokio::test(start_paused = true)]
async fn refresh_that_fails_while_the_token_is_valid_does_not_fail_calls() {
    let (emu, client) = setup().await;
    client.folders().get(FOLDER).await.expect("first call");
    tokio::time::advance(Duration::from_secs(61 * 60)).await;
    emu.set_fault(
        TOKEN_CREATE,
        Fault::FailFirst {
            n: 1000,
            code: tonic::Code::Unavailable,
        },
    );
    client.folders().get(FOLDER).await.expect("the old token still serves");
    assert!(calls(&emu, TOKEN_CREATE).len() >= 2, "a refresh was attempted");
    emu.clear_faults();
    tokio::time::advance(Duration::from_secs(60)).await;
    client.folders().get(FOLDER).await.expect("call after the fault");
    let last = calls(&emu, TOKEN_CREATE).len();
    client.folders().get(FOLDER).await.expect("another call");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), last, "the refreshed token is reused");
}

#[tokio::test(start_paused = true)]
async fn an_exchange_goes_on_for_later_calls_when_the_calls_waiting_for_it_give_up() {
    let (emu, client) = setup().await;
    emu.set_fault(TOKEN_CREATE, Fault::Delay(Duration::from_millis(1500)));
    let impatient = futures_util::future::join_all((0..6).map(|_| {
        let client = client.clone();
        async move { tokio::time::timeout(Duration::from_secs(1), client.folders().get(FOLDER)).await }
    }))
    .await;
    assert!(
        impatient.iter().all(Result::is_err),
        "IAM answers after the callers gave up"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    emu.clear_faults();
    client
        .folders()
        .get(FOLDER)
        .await
        .expect("the token obtained meanwhile serves");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 1, "one exchange, seen through");
}

#[tokio::test(start_paused = true)]
async fn a_call_that_finds_its_token_due_for_renewal_goes_out_with_it_without_waiting() {
    let (emu, client) = setup().await;
    client.folders().get(FOLDER).await.expect("first call");
    tokio::time::advance(Duration::from_secs(61 * 60)).await;
    emu.set_fault(TOKEN_CREATE, Fault::Delay(Duration::from_secs(5)));
    // On the paused clock, one second is a bound on waiting, not on speed: the renewal takes five.
    let call = tokio::time::timeout(Duration::from_secs(1), client.folders().get(FOLDER)).await;
    assert!(
        matches!(call, Ok(Ok(_))),
        "the still-valid token went out at once: {call:?}"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 2, "renewed in the background");
}
