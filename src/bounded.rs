//! Futures run a bounded number at a time. They are taken as a `Vec`, made before they run: a
//! stream over an iterator whose closure borrows would make the caller's future fail to be `Send`
//! for every lifetime (a limit of the compiler's reasoning about such closures), so a backend could
//! not spawn the library's audit, rotation or fleet calls. Holding only the futures avoids that.

use futures_util::stream::{self, BufferUnordered, Buffered, Iter, StreamExt as _};

/// The futures' outputs in the order given, at most `limit` running at a time.
pub(crate) fn in_order<F: Future>(futures: Vec<F>, limit: usize) -> Buffered<Iter<std::vec::IntoIter<F>>> {
    stream::iter(futures).buffered(limit)
}

/// The futures' outputs as they end, at most `limit` running at a time.
pub(crate) fn as_they_end<F: Future>(futures: Vec<F>, limit: usize) -> BufferUnordered<Iter<std::vec::IntoIter<F>>> {
    stream::iter(futures).buffer_unordered(limit)
}
