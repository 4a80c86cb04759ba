import Synchronization

/// The chunks of one streamed completion (`OpenAIClient.stream`). The upstream may send faster
/// than the reader takes them: at most `maxBacklogBytes` of chunk text wait unread, and beyond
/// that the call ends with `readerTooSlow`, so a slow reader cannot make popi hold an upstream's
/// whole answer.
public struct ChatCompletionChunks: AsyncSequence, Sendable {
    public typealias Element = ChatCompletionChunk

    /// Bytes of chunk text waiting unread.
    final class Backlog: Sendable {
        private let bytes = Mutex(0)

        /// Adds `count` bytes; false when that passes `limit`.
        func add(_ count: Int, limit: Int) -> Bool {
            bytes.withLock { bytes in
                bytes += count
                return bytes <= limit
            }
        }

        func remove(_ count: Int) {
            bytes.withLock { $0 -= count }
        }
    }

    let base: AsyncThrowingStream<(chunk: ChatCompletionChunk, bytes: Int), Error>
    let backlog: Backlog

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<(chunk: ChatCompletionChunk, bytes: Int), Error>.AsyncIterator
        let backlog: Backlog

        public mutating func next() async throws -> ChatCompletionChunk? {
            guard let next = try await base.next() else { return nil }
            backlog.remove(next.bytes)
            return next.chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), backlog: backlog)
    }
}
