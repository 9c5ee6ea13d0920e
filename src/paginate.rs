//! List calls as streams: the page token loop is written once, here, and callers see items (or
//! whole pages) without ever handling a token.

use std::{
    collections::VecDeque,
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use futures_util::{Stream, StreamExt as _, stream::BoxStream};

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
    pages: BoxStream<'static, Result<Vec<T>, Error>>,
    buffer: VecDeque<T>,
}

impl<T: Send + 'static> Paginator<T> {
    /// Builds the stream from a fetch-by-token function (the first call gets an empty token).
    pub(crate) fn new<F, Fut>(fetch: F) -> Self
    where
        F: FnMut(String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Page<T>, Error>> + Send + 'static,
    {
        let pages = futures_util::stream::unfold(Some((fetch, String::new())), |state| async move {
            let (mut fetch, token) = state?;
            match fetch(token.clone()).await {
                Ok(page) => {
                    let next = page.next_page_token;
                    // The end, or a server that repeats the token (stop rather than loop).
                    let state = (!next.is_empty() && next != token).then_some((fetch, next));
                    Some((Ok(page.items), state))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        Paginator {
            pages: pages.boxed(),
            buffer: VecDeque::new(),
        }
    }

    /// The same list as a stream of pages.
    pub fn into_pages(self) -> BoxStream<'static, Result<Vec<T>, Error>> {
        let Paginator { pages, buffer } = self;
        if buffer.is_empty() {
            pages
        } else {
            futures_util::stream::once(async move { Ok(Vec::from(buffer)) })
                .chain(pages)
                .boxed()
        }
    }
}

impl<T: Unpin> Stream for Paginator<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            match this.pages.poll_next_unpin(cx) {
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
        let stream = Paginator::new(|token: String| async move {
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
