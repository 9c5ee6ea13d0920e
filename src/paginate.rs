//! List calls as streams: the page token loop is written once, here, and callers see items (or
//! whole pages) without ever handling a token.

use std::{
    collections::VecDeque,
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use futures_util::{FutureExt as _, Stream, StreamExt as _, future::BoxFuture, stream::BoxStream};

use crate::Error;

/// One fetched page: its items and the token of the next page (empty at the end).
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_page_token: String,
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
    /// Taken when the first page is asked for.
    fetch: Option<Fetch<T>>,
    pages: Option<BoxStream<'static, Result<Vec<T>, Error>>>,
    page_size: i64,
    buffer: VecDeque<T>,
}

type Fetch<T> = Box<dyn FnMut(String, i64) -> BoxFuture<'static, Result<Page<T>, Error>> + Send>;

/// The page size asked for unless the caller sets one: the largest the API accepts.
const DEFAULT_PAGE_SIZE: i64 = 1000;

impl<T: Send + 'static> Paginator<T> {
    /// Builds the stream from a fetch function taking the page token (empty for the first page)
    /// and the page size.
    pub(crate) fn new<F, Fut>(mut fetch: F) -> Self
    where
        F: FnMut(String, i64) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Page<T>, Error>> + Send + 'static,
    {
        let fetch: Fetch<T> = Box::new(move |token, size| fetch(token, size).boxed());
        Paginator {
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
        let (fetch, page_size) = (&mut self.fetch, self.page_size);
        self.pages.get_or_insert_with(|| match fetch.take() {
            Some(fetch) => run(fetch, page_size),
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

/// The token loop: fetch pages until the server returns no next token.
fn run<T: Send + 'static>(fetch: Fetch<T>, page_size: i64) -> BoxStream<'static, Result<Vec<T>, Error>> {
    futures_util::stream::unfold(Some((fetch, String::new())), move |state| async move {
        let (mut fetch, token) = state?;
        match fetch(token.clone(), page_size).await {
            Ok(page) => {
                let next = page.next_page_token;
                // The end, or a server that repeats the token (stop rather than loop).
                let state = (!next.is_empty() && next != token).then_some((fetch, next));
                Some((Ok(page.items), state))
            }
            Err(e) => Some((Err(e), None)),
        }
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
        let stream = Paginator::new(|token: String, _size| async move {
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
}
