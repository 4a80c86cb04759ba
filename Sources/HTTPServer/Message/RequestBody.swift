/// A request body. The server reads a body before the handler runs, except when the client sent
/// `Expect: 100-continue`: then `100 Continue` is sent and the body read only when the handler
/// first calls `collect`. A handler that never asks gets its response sent and the connection
/// closed, so a large upload it did not want is never read.
public struct RequestBody: Sendable {
    enum Storage: Sendable {
        case bytes([UInt8])
        case deferred(any DeferredRequestBody)
    }

    let storage: Storage

    public static let empty = RequestBody(bytes: [])

    public init(bytes: [UInt8]) { storage = .bytes(bytes) }

    init(deferred: any DeferredRequestBody) { storage = .deferred(deferred) }

    /// The whole body. Throws `HTTPError` 413 (`payload_too_large`) when it is longer than `limit`,
    /// and `CancellationError` when the client went away.
    public func collect(upTo limit: Int = .max) async throws -> [UInt8] {
        switch storage {
        case .bytes(let bytes):
            guard bytes.count <= limit else { throw HTTPError.payloadTooLarge(limit: limit) }
            return bytes
        case .deferred(let source):
            return try await source.collect(upTo: limit)
        }
    }
}

protocol DeferredRequestBody: Sendable {
    func collect(upTo limit: Int) async throws -> [UInt8]
}
