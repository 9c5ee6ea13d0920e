//! List calls as streams: the page token loop is written once, here, and callers see items (or
//! whole pages) without ever handling a token. Every list method of the facade is one
//! [`Client::paginate`] call; the request and response types say where their token and items are.

use std::{
    collections::{HashSet, VecDeque},
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use futures_util::{FutureExt as _, Stream, StreamExt as _, future::BoxFuture, stream::BoxStream};
use tonic::transport::Channel;

use crate::{
    Client, Error, ErrorKind, Validate,
    client::Method,
    proto::yandex::cloud::{access, iam::v1 as iam, lockbox::v1 as lockbox, resourcemanager::v1 as rm},
};

/// One fetched page: its items and the token of the next page (empty at the end).
pub struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_page_token: String,
}

/// A list request: it carries the page token and the page size.
pub trait PageableRequest: Validate + Clone + fmt::Debug + Send + Sync + 'static {
    fn set_page(&mut self, page_token: String, page_size: i64);
}

/// A list response: one page of items and the next page's token.
pub trait PageableResponse: fmt::Debug + Send + 'static {
    type Item: Send + 'static;
    fn into_page(self) -> Page<Self::Item>;
}

/// Implements both traits for a request/response pair whose response lists its items in `items`.
macro_rules! pageable {
    ($($request:ty => $response:ty, $item:ty, $items:ident;)*) => {$(
        impl PageableRequest for $request {
            fn set_page(&mut self, page_token: String, page_size: i64) {
                self.page_token = page_token;
                self.page_size = page_size;
            }
        }
        impl PageableResponse for $response {
            type Item = $item;
            fn into_page(self) -> Page<$item> {
                Page { items: self.$items, next_page_token: self.next_page_token }
            }
        }
    )*};
}

pageable! {
    iam::ListServiceAccountsRequest => iam::ListServiceAccountsResponse, iam::ServiceAccount, service_accounts;
    iam::ListApiKeysRequest => iam::ListApiKeysResponse, iam::ApiKey, api_keys;
    iam::ListApiKeyScopesRequest => iam::ListApiKeyScopesResponse, String, scopes;
    iam::ListKeysRequest => iam::ListKeysResponse, iam::Key, keys;
    iam::awscompatibility::ListAccessKeysRequest => iam::awscompatibility::ListAccessKeysResponse, iam::awscompatibility::AccessKey, access_keys;
    access::ListAccessBindingsRequest => access::ListAccessBindingsResponse, access::AccessBinding, access_bindings;
    rm::ListFoldersRequest => rm::ListFoldersResponse, rm::Folder, folders;
    rm::ListCloudsRequest => rm::ListCloudsResponse, rm::Cloud, clouds;
    lockbox::ListSecretsRequest => lockbox::ListSecretsResponse, lockbox::Secret, secrets;
    lockbox::ListVersionsRequest => lockbox::ListVersionsResponse, lockbox::Version, versions;
}

impl Client {
    /// The list call `rpc` as a stream: `request` is sent once per page, with that page's token.
    pub(crate) fn paginate<Req, Resp, F, Fut>(&self, method: Method, request: Req, rpc: F) -> Paginator<Resp::Item>
    where
        Req: PageableRequest,
        Resp: PageableResponse,
        F: Fn(Channel, tonic::Request<Req>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send + 'static,
    {
        let client = self.clone();
        Paginator::new(method.what, move |page_token, page_size| {
            let (client, rpc, mut request) = (client.clone(), rpc.clone(), request.clone());
            request.set_page(page_token, page_size);
            async move { Ok(client.call(&method, request, rpc).await?.into_inner().into_page()) }
        })
    }
}

/// A stream of the items of a paginated list, fetched page by page as it is consumed.
///
/// ```no_run
/// use futures_util::TryStreamExt as _;
/// # async fn run(client: yc_iam::Client) -> Result<(), yc_iam::Error> {
/// let mut accounts = client.service_accounts().list("b1gfolder");
/// while let Some(sa) = accounts.try_next().await? {
///     println!("{} {}", sa.id, sa.name);
/// }
/// # Ok(())
/// # }
/// ```
pub struct Paginator<T> {
    /// The phrase errors start with ("cannot list service accounts").
    what: &'static str,
    /// Taken when the first page is asked for.
    fetch: Option<Fetch<T>>,
    pages: Option<BoxStream<'static, Result<Vec<T>, Error>>>,
    page_size: i64,
    buffer: VecDeque<T>,
}

type Fetch<T> = Box<dyn FnMut(String, i64) -> BoxFuture<'static, Result<Page<T>, Error>> + Send>;

/// The page size asked for unless the caller sets one: the largest the API accepts.
const DEFAULT_PAGE_SIZE: i64 = 1000;

/// More pages than this in one listing (ten million items at the default size) is a server
/// that never ends its list.
const MAX_PAGES: usize = 10_000;

impl<T: Send + 'static> Paginator<T> {
    /// Builds the stream from a fetch function taking the page token (empty for the first page)
    /// and the page size; `what` starts the message of the error that ends a list which never
    /// ends.
    pub(crate) fn new<F, Fut>(what: &'static str, mut fetch: F) -> Self
    where
        F: FnMut(String, i64) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Page<T>, Error>> + Send + 'static,
    {
        let fetch: Fetch<T> = Box::new(move |token, size| fetch(token, size).boxed());
        Paginator {
            what,
            fetch: Some(fetch),
            pages: None,
            page_size: DEFAULT_PAGE_SIZE,
            buffer: VecDeque::new(),
        }
    }

    /// How many items to ask for per page (the API accepts 0 to 1000; 0 lets the server choose;
    /// 1000 by default). Takes effect if set before the first item is read.
    pub fn with_page_size(mut self, page_size: i64) -> Self {
        self.page_size = page_size;
        self
    }

    fn pages(&mut self) -> &mut BoxStream<'static, Result<Vec<T>, Error>> {
        let (fetch, page_size, what) = (&mut self.fetch, self.page_size, self.what);
        self.pages.get_or_insert_with(|| match fetch.take() {
            Some(fetch) => run(what, fetch, page_size),
            None => futures_util::stream::empty().boxed(),
        })
    }

    /// The same list as a stream of pages.
    pub fn into_pages(mut self) -> BoxStream<'static, Result<Vec<T>, Error>> {
        let pages = std::mem::replace(self.pages(), futures_util::stream::empty().boxed());
        if self.buffer.is_empty() {
            pages
        } else {
            let buffer = std::mem::take(&mut self.buffer);
            futures_util::stream::once(async move { Ok(Vec::from(buffer)) })
                .chain(pages)
                .boxed()
        }
    }
}

/// The token loop: fetch pages until the server returns no next token. A token seen before in
/// this listing (a server cycling A, B, A…) or more than [`MAX_PAGES`] pages ends the stream,
/// after the page that said so, with an error instead of looping forever.
fn run<T: Send + 'static>(
    what: &'static str,
    fetch: Fetch<T>,
    page_size: i64,
) -> BoxStream<'static, Result<Vec<T>, Error>> {
    enum Step<T> {
        Fetch {
            fetch: Fetch<T>,
            token: String,
            seen: HashSet<String>,
        },
        Fail(Error),
    }
    let first = Step::Fetch {
        fetch,
        token: String::new(),
        seen: HashSet::new(),
    };
    futures_util::stream::unfold(Some(first), move |state| async move {
        let (mut fetch, token, mut seen) = match state? {
            Step::Fetch { fetch, token, seen } => (fetch, token, seen),
            Step::Fail(e) => return Some((Err(e), None)),
        };
        let page = match fetch(token, page_size).await {
            Ok(page) => page,
            Err(e) => return Some((Err(e), None)),
        };
        let token = page.next_page_token;
        let next = if token.is_empty() {
            None
        } else if seen.len() + 1 >= MAX_PAGES {
            let problem = format!("the server sent more than {MAX_PAGES} pages");
            Some(Step::Fail(Error::new(ErrorKind::Other, what, problem)))
        } else if !seen.insert(token.clone()) {
            let problem = "the server repeated a page token of this listing";
            Some(Step::Fail(Error::new(ErrorKind::Other, what, problem)))
        } else {
            Some(Step::Fetch { fetch, token, seen })
        };
        Some((Ok(page.items), next))
    })
    .boxed()
}

impl<T: Unpin + Send + 'static> Stream for Paginator<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            match this.pages().poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(items))) => this.buffer.extend(items),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T> fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt as _;

    use super::*;

    #[tokio::test]
    async fn every_item_arrives_once_across_pages() {
        let stream = Paginator::new("cannot count", |token: String, _size| async move {
            let start: usize = token.parse().unwrap_or(0);
            let end = (start + 7).min(20);
            let next = if end < 20 { end.to_string() } else { String::new() };
            Ok(Page {
                items: (start..end).collect(),
                next_page_token: next,
            })
        });
        let items: Vec<usize> = stream.try_collect().await.unwrap_or_default();
        assert_eq!(items, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_server_that_never_ends_its_list_is_cut_off_after_ten_thousand_pages() {
        let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = fetched.clone();
        let stream = Paginator::new("cannot count", move |_token: String, _size| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                Ok(Page {
                    items: vec![n],
                    next_page_token: format!("t{n}"),
                })
            }
        });
        let err = stream.try_collect::<Vec<usize>>().await.unwrap_err();
        assert_eq!(fetched.load(std::sync::atomic::Ordering::SeqCst), MAX_PAGES);
        assert_eq!(err.to_string(), "cannot count: the server sent more than 10000 pages");
    }
}
