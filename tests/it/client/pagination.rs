//! A long list arrives as a stream, every item exactly once.

use std::collections::HashSet;

use futures_util::{StreamExt as _, TryStreamExt as _};
use yc_iam::CreateServiceAccount;
use yc_iam::emulator::{Emulator, Quota};

use super::{FOLDER, SA_LIST, calls, client, emulator, start};

#[tokio::test]
async fn twenty_five_hundred_service_accounts_stream_exactly_once() {
    // A cloud whose quota was raised to hold them.
    let emu = start(Emulator::builder().with_quota(Quota::ServiceAccountsPerCloud, 2500)).await;
    let client = client(&emu);
    let names: Vec<String> = (0..2500).map(|i| format!("sa-{i:04}")).collect();
    futures_util::stream::iter(names.clone())
        .map(|name| {
            let client = client.clone();
            async move {
                client
                    .service_accounts()
                    .create(CreateServiceAccount::new(FOLDER, name))
                    .await?
                    .wait()
                    .await
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .expect("all created");
    emu.clear_journal();

    let listed: Vec<_> = client
        .service_accounts()
        .list(FOLDER)
        .try_collect()
        .await
        .expect("listed");
    assert_eq!(listed.len(), 2500);
    let unique: HashSet<_> = listed.iter().map(|sa| sa.name.clone()).collect();
    assert_eq!(unique, names.into_iter().collect::<HashSet<_>>());
    assert!(calls(&emu, SA_LIST).len() >= 3, "more than one page was fetched");

    let pages: Vec<_> = client
        .service_accounts()
        .list(FOLDER)
        .into_pages()
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), 2500);

    emu.clear_journal();
    let small: Vec<_> = client
        .service_accounts()
        .list(FOLDER)
        .with_page_size(100)
        .try_collect()
        .await
        .expect("small pages");
    assert_eq!(small.iter().map(|sa| sa.id.clone()).collect::<HashSet<_>>().len(), 2500);
    assert_eq!(calls(&emu, SA_LIST).len(), 25, "2,500 in pages of 100");
}

#[tokio::test]
async fn short_names_are_found_without_the_filter() {
    let emu = emulator().await;
    let client = client(&emu);
    super::create_sa(&client, "ab").await;
    super::create_sa(&client, "abc").await;
    let short = client
        .service_accounts()
        .find_by_name(FOLDER, "ab")
        .await
        .expect("find");
    assert_eq!(short.map(|sa| sa.name).as_deref(), Some("ab"));
    let long = client
        .service_accounts()
        .find_by_name(FOLDER, "abc")
        .await
        .expect("find");
    assert_eq!(long.map(|sa| sa.name).as_deref(), Some("abc"));
    assert!(
        client
            .service_accounts()
            .find_by_name(FOLDER, "zz")
            .await
            .expect("find")
            .is_none()
    );
}

#[tokio::test]
async fn a_one_letter_name_is_refused_before_any_listing() {
    let emu = emulator().await;
    let client = client(&emu);
    // The proto's pattern lets a one-letter account be made; the documented rule (2 to 63
    // characters) does not let it be looked up.
    super::create_sa(&client, "a").await;
    let err = client
        .service_accounts()
        .find_by_name(FOLDER, "a")
        .await
        .expect_err("a one-letter name is refused");
    assert!(err.is_invalid_input(), "{err}");
    assert!(
        err.to_string()
            .contains("invalid name \"a\": must be 2 to 63 characters long"),
        "{err}"
    );
    assert!(calls(&emu, SA_LIST).is_empty(), "nothing is listed for a refused name");
}
